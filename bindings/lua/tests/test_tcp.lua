-- Firmware-style TCP clients: tasks (coroutines) drive the socket library in lib/socket.lua,
-- which connects with sock_conn_ext, sends in chunks, reads on RECV_IND with
-- sock_recv(msg.socket_index, msg.recv_len), closes and destroys on CLOSE_CNF.
local T = require "check"
local sys = require "sys"
local socket = require "socket"
local TCP, CLOSED = tonumber(T.env("SC_TCP_PORT")), tonumber(T.env("SC_CLOSED_PORT"))

local function payload(n, seed)
    local t = {}
    for i = 1, n do t[i] = string.char((i * 7 + seed) % 256) end
    return table.concat(t)
end

local function echoTask(name, size, ext)
    return function()
        local c = socket.tcp(nil, nil, ext)
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
        T.check(c.id == nil, name .. ": closed and destroyed")
    end
end

sys.taskInit(echoTask("small", 5))
sys.taskInit(echoTask("large", 300 * 1024))
sys.taskInit(echoTask("smallbuf", 64 * 1024, { rcvBufferSize = 4096 }))
sys.taskInit(function()
    local c = socket.tcp()
    local ok, reason = c:connect("127.0.0.1", CLOSED, 10)
    T.check(not ok and reason == socketcore.ERR_ECONNREFUSED, "refused connect reports ECONNREFUSED", reason)
end)
sys.taskInit(function()
    local c = socket.tcp()
    local ok, reason = c:connect("127.0.0.1", 0, 10)
    T.check(not ok and reason == -socketcore.ERR_EARG, "port 0 refused at once with -EARG", reason)
end)
sys.taskInit(function()
    -- a task that waits on a timer while others run
    local t0 = rtos.tick()
    sys.wait(200)
    T.check(rtos.tick() - t0 >= 190, "sys.wait(200) between socket messages")
end)

T.check(sys.run(60000), "all tasks finished in time")
T.done("test_tcp")
