-- The firmware's own flow on failure paths: tasks use lib/socket.lua (a replica of the
-- firmware's socket library: no timeout on close, results only from messages, sock_send's
-- return value ignored) and lib/sys.lua (rtos timers). Every connect that fails must still
-- let close() return; nothing may hang (T.run fails the script after its time limit).
-- Needs SC_TCP_PORT, SC_WHOAMI_PORT, SC_CLOSED_PORT, SC_RESET_PORT, SC_HANG_PORT.
local T = require "check"
local sys = require "sys"
local socket = require "socket"
local sc = socketcore
local TCP, WHOAMI, CLOSED = tonumber(T.env("SC_TCP_PORT")), tonumber(T.env("SC_WHOAMI_PORT")), tonumber(T.env("SC_CLOSED_PORT"))
local RESET, HANG = tonumber(T.env("SC_RESET_PORT")), tonumber(T.env("SC_HANG_PORT"))

T.task(function()
    -- A connect that hangs (its SYN is dropped): the socket library's own timer ends it, and
    -- close() cancels the connect still running in the library (CONN_CNF EABORT, which the
    -- library ignores as not awaited, then CLOSE_CNF).
    local c = socket.tcp()
    local t0 = rtos.tick()
    T.check(not c:connect("127.0.0.1", HANG, 1), "hanging connect: fails after its 1 s timer")
    T.check(rtos.tick() - t0 >= 1000, "... not before", rtos.tick() - t0)
    c:close()
    T.check(true, "hanging connect: close() returned")
end)

T.task(function()
    local c = socket.tcp()
    T.check(not c:connect("127.0.0.1", CLOSED, 10), "refused port: connect returns false")
    T.eq(c.result, sc.ERR_ECONNREFUSED, "... after CONN_CNF ECONNREFUSED")
    c:close()
    T.check(true, "refused port: close() returned")
end)

T.task(function()
    local c = socket.tcp()
    T.check(c:connect("127.0.0.1", WHOAMI, 10), "peer closes first: connect")
    local ok, data = c:recv(5000)
    T.check(ok and data:match("^127%.0%.0%.1 %d+\n$"), "the peer's data comes first", data)
    T.check(c:recv(5000) == false and c.error == "CLOSED", "then the close (CLOSE_IND)")
    T.check(not c:send("after close"), "send after CLOSE_IND fails at once (the library sees the error)")
    c:close()
    T.check(true, "peer closed first: close() returned")
end)

T.task(function()
    -- The reset arrives while this task does not yield (rtos.sleep blocks, as a busy
    -- firmware task does): its CLOSE_IND waits in the ring, the socket library does not know
    -- yet and calls sock_send, which is refused. The refusal must still be answered.
    local c = socket.tcp()
    T.check(c:connect("127.0.0.1", RESET, 10), "reset peer: connect")
    T.check(c:send("ping"), "reset peer: first send")
    local ok, echo = c:recv(5000)
    T.check(ok and echo == "ping", "reset peer: echo", echo)
    rtos.sleep(300)
    local t0 = rtos.tick()
    T.check(not c:send("into the reset"), "send after the reset fails")
    T.check(rtos.tick() - t0 < 60000, "... without waiting for the send timer")
    c:close()
    T.check(true, "reset peer: close() returned")
end)

T.task(function()
    -- The socket limit: the original reads -2 as "DNS failed" and asks a DNS server on the
    -- internet over HTTP (the replica raises an error then); -1 fails the connect at once.
    for _ = 1, 3000 do -- alone: the other tasks' sockets would count towards the limit
        if T.pending == 1 then break end
        sys.wait(20)
    end
    sc.sock_set_max_sockets(1)
    local first = socket.tcp()
    T.check(first:connect("127.0.0.1", TCP, 10), "limit: the first socket connects")
    local second = socket.tcp()
    T.check(not second:connect("127.0.0.1", TCP, 10), "limit: the second connect fails at once")
    second:close()
    first:close()
    sc.sock_set_max_sockets(1024)
    T.check(true, "limit: both close() returned")
end)

T.task(function()
    -- 16 MiB through the echo server, 1 MiB at a time (each sent in 11200-byte chunks, each
    -- chunk waiting for its SEND_CNF), every byte checked.
    local c = socket.tcp()
    T.check(c:connect("127.0.0.1", TCP, 10), "16 MiB: connect")
    local ok = true
    for round = 1, 16 do
        local piece = string.rep(string.format("%015d\n", round), 65536) -- 1 MiB
        ok = ok and c:send(piece, 60)
        local got, n = {}, 0
        while ok and n < #piece do
            local r, data = c:recv(10000)
            if not r then ok = false break end
            got[#got + 1] = data
            n = n + #data
        end
        ok = ok and table.concat(got) == piece
        if not ok then break end
    end
    T.check(ok, "16 MiB: every byte echoed in order")
    c:close()
    T.check(true, "16 MiB: close() returned")
end)

T.run("test_firmware", 90000)
