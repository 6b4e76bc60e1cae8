-- Firmware-style TCP clients: tasks (coroutines) drive lib/socket.lua, a replica of the
-- firmware's socket library, which connects with sock_conn_ext, sends in 11200-byte chunks
-- waiting for each SEND_CNF, reads on RECV_IND with sock_recv(msg.socket_index,
-- msg.recv_len), closes and destroys on CLOSE_CNF. Timers are rtos timers (lib/sys.lua).
local T = require "check"
local sys = require "sys"
local socket = require "socket"
local TCP = tonumber(T.env("SC_TCP_PORT"))

local function payload(n, seed)
    local t = {}
    for i = 1, n do t[i] = string.char((i * 7 + seed) % 256) end
    return table.concat(t)
end

local function echoTask(name, size)
    return function()
        local c = socket.tcp()
        local ok, id = c:connect("127.0.0.1", TCP, 10)
        if not T.check(ok, name .. ": connect", id) then return end
        local data = payload(size, #name)
        T.check(c:send(data, 20), name .. ": send " .. size .. " bytes in chunks")
        local got = {}
        local n = 0
        while n < size do
            local r, chunk = c:recv(10000)
            if not T.check(r, name .. ": recv", chunk) then break end
            got[#got + 1] = chunk
            n = n + #chunk
        end
        T.eq(table.concat(got), data, name .. ": echo matches")
        c:close()
        T.check(not c.connected, name .. ": closed")
    end
end

T.task(echoTask("small", 5))
T.task(echoTask("large", 300 * 1024))
T.task(echoTask("big", 4 * 1024 * 1024))
T.task(function()
    -- a task that sleeps on an rtos timer while the others run
    local t0 = rtos.tick()
    sys.wait(200)
    T.check(rtos.tick() - t0 >= 200, "sys.wait(200) between socket messages", rtos.tick() - t0)
end)
T.task(function()
    -- a callback timer and a loop timer, stopped after three rounds
    local fired, loops, t0 = 0, 0, rtos.tick()
    sys.timerStart(function(a, b) fired = fired + a + b end, 50, 1, 2)
    local lt
    lt = sys.timerLoopStart(function() loops = loops + 1; if loops == 3 then sys.timerStop(lt) end end, 40)
    for _ = 1, 250 do -- other tasks keep this thread busy: wait for the rounds, bounded
        if fired > 0 and loops >= 3 then break end
        sys.wait(20)
    end
    sys.wait(200)
    T.eq(fired, 3, "timerStart callback ran once with its arguments")
    T.eq(loops, 3, "timerLoopStart ran until stopped, and not after")
    T.check(rtos.tick() - t0 >= 120, "three 40 ms rounds took at least 120 ms")
end)
T.task(function()
    -- waitUntil: a topic published by another task, and a timeout
    sys.timerStart(sys.publish, 60, "HOST_TOPIC", 42)
    local ok, v = sys.waitUntil("HOST_TOPIC", 5000)
    T.check(ok and v == 42, "waitUntil got the published topic", ok, v)
    local t0 = rtos.tick()
    ok = sys.waitUntil("NEVER_PUBLISHED", 100)
    T.check(ok == false and rtos.tick() - t0 >= 100, "waitUntil timed out after 100 ms")
end)

T.run("test_tcp", 60000)
