-- The firmware's behaviour on every failure path, call by call: what each call returns and
-- which messages follow (bindings/lua/README.md, "Failure paths"), and rtos timers. No
-- scheduler: messages are taken with rtos.receive here. Needs SC_TCP_PORT, SC_WHOAMI_PORT,
-- SC_CLOSED_PORT, SC_HOLD_PORT.
local T = require "check"
local sc = require "socketcore"
local check, eq = T.check, T.eq
local TCP, WHOAMI, CLOSED = tonumber(T.env("SC_TCP_PORT")), tonumber(T.env("SC_WHOAMI_PORT")), tonumber(T.env("SC_CLOSED_PORT"))
local HOLD = tonumber(T.env("SC_HOLD_PORT"))

-- The next message (a table, or MSG_TIMER and its id) within `ms`, or nil.
local function nextMsg(ms)
    local m, p = rtos.receive(ms or 5000)
    if m == rtos.WAIT_MSG_TIMEOUT then return nil end
    if m == rtos.MSG_TIMER then return { id = m, timer = p } end
    return m
end

-- Takes messages until one of `kind` for socket `id` arrives; the others are returned too.
local function waitFor(id, kind, ms)
    local deadline, others = rtos.tick() + (ms or 5000), {}
    while rtos.tick() < deadline do
        local m = nextMsg(100)
        if m and m.socket_index == id and m.id == kind then return m, others end
        if m then others[#others + 1] = m end
    end
    return nil, others
end

local function quiet(ms)
    local m = nextMsg(ms)
    return m == nil, m and m.id, m and m.socket_index
end

local function connected(port)
    local id = sc.sock_conn_ext(0, "127.0.0.1", port)
    local m = waitFor(id, rtos.MSG_SOCK_CONN_CNF)
    check(m and m.result == 0, "connected to port " .. port, m and m.result)
    return id
end

-- close after destroy (the firmware's socket.lua: CONN_CNF failed -> destroy -> close())
local id = sc.sock_conn_ext(0, "127.0.0.1", CLOSED)
local m = waitFor(id, rtos.MSG_SOCK_CONN_CNF)
check(m and m.result == sc.ERR_ECONNREFUSED, "refused port: CONN_CNF ECONNREFUSED", m and m.result)
eq(sc.sock_destroy(id), 1, "destroy after a failed connect")
eq(sc.sock_close(id), 1, "close after destroy returns 1")
m = waitFor(id, rtos.MSG_SOCK_CLOSE_CNF, 2000)
check(m and m.result == 0, "close after destroy: one CLOSE_CNF, result 0", m and m.result)
check(quiet(100), "and nothing else")

-- destroy twice
eq(sc.sock_destroy(id), 1, "destroy twice returns 1")

-- close after CLOSE_IND (the peer closed first)
id = connected(WHOAMI)
local text = ""
repeat
    m = nextMsg(5000)
    if m and m.id == rtos.MSG_SOCK_RECV_IND then text = text .. sc.sock_recv(id, m.recv_len) end
until not m or m.id == rtos.MSG_SOCK_CLOSE_IND
check(m and m.result == 0 and text:match("^127%.0%.0%.1 %d+\n$"), "data, then CLOSE_IND 0", text)

-- send after CLOSE_IND: refused, and answered by a failed SEND_CNF
local r, why = sc.sock_send(id, "after the peer closed")
check(r == 0 and why == sc.ERR_ECLSD, "send after CLOSE_IND -> 0, ECLSD", r, why)
m = waitFor(id, rtos.MSG_SOCK_SEND_CNF, 2000)
check(m and m.result == sc.ERR_ECLSD and m.send_len == 0, "its failed SEND_CNF", m and m.result)
eq(sc.sock_close(id), 1, "close after CLOSE_IND")
m = waitFor(id, rtos.MSG_SOCK_CLOSE_CNF, 2000)
check(m and m.result == 0, "its CLOSE_CNF")
sc.sock_destroy(id)

-- send refused: after close, and not connected yet
id = connected(TCP)
eq(sc.sock_close(id), 1, "close")
r, why = sc.sock_send(id, "too late")
check(r == 0 and why == sc.ERR_ENOTCONN, "send after close -> 0, ENOTCONN", r, why)
local cnf, others = waitFor(id, rtos.MSG_SOCK_CLOSE_CNF, 2000)
local reply = others[1] and others[1].id == rtos.MSG_SOCK_SEND_CNF and others[1]
if not reply then reply = waitFor(id, rtos.MSG_SOCK_SEND_CNF, 2000) end
check(cnf and reply and reply.result == sc.ERR_ENOTCONN, "a CLOSE_CNF and a failed SEND_CNF", reply and reply.result)
sc.sock_destroy(id)
id = sc.sock_conn_ext(0, "127.0.0.1", TCP)
r, why = sc.sock_send(id, "early")
if r == 0 then
    m = waitFor(id, rtos.MSG_SOCK_SEND_CNF, 2000)
    check(why == sc.ERR_ENOTCONN and m and m.result == sc.ERR_ENOTCONN, "send before CONN_CNF -> failed SEND_CNF")
end
sc.sock_destroy(id)

-- send refused: the send queue is full (the peer does not read)
id = connected(HOLD)
local chunk, refused = string.rep("q", 65536), nil
for _ = 1, 4096 do -- at most 256 MiB; the kernel's and the library's buffers fill long before
    r, why = sc.sock_send(id, chunk)
    if r == 0 then refused = why break end
end
check(refused == sc.ERR_ENOBUFS, "queue full -> 0, ENOBUFS", refused)
m = nil
local deadline = rtos.tick() + 5000
while rtos.tick() < deadline do
    local x = nextMsg(100)
    if x and x.id == rtos.MSG_SOCK_SEND_CNF and x.result == sc.ERR_ENOBUFS then m = x break end
end
check(m and m.socket_index == id and m.send_len == 0, "the full queue's refusal has its failed SEND_CNF")
eq(sc.sock_destroy(id), 1, "destroy discards what is still queued")

-- recv with no data buffered
id = connected(TCP)
eq(sc.sock_recv(id, 100), "", "recv with nothing buffered -> \"\"")
sc.sock_close(id); waitFor(id, rtos.MSG_SOCK_CLOSE_CNF); sc.sock_destroy(id)

-- the socket limit: -1 (the firmware's "no free socket"), never -2
eq(sc.sock_set_max_sockets(1), 0, "limit 1 socket")
id = sc.sock_conn_ext(0, "127.0.0.1", TCP)
r, why = sc.sock_conn_ext(0, "127.0.0.1", TCP)
check(r == -1 and why == sc.ERR_ENOBUFS, "sock_conn_ext past the limit -> -1, ENOBUFS", r, why)
local none, code = sc.sock_conn(0, "127.0.0.1", TCP)
check(none == nil and code == sc.ERR_ENOBUFS, "sock_conn past the limit -> nil, ENOBUFS", none, code)
sc.sock_destroy(id)
sc.sock_set_max_sockets(1024)
while nextMsg(50) do end

-- rtos timers: once, in deadline order, among socket messages. The clock is read before the
-- timers start: read after, the time sock_conn_ext took would count against the timer.
local t0 = rtos.tick()
eq(rtos.timer_start(7, 120), 1, "timer_start -> 1")
eq(rtos.timer_start(8, 40), 1, "second timer")
id = sc.sock_conn_ext(0, "127.0.0.1", TCP)
local order, sawConn = {}, false
while #order < 2 and rtos.tick() - t0 < 5000 do
    local a, b = rtos.receive(1000)
    if a == rtos.MSG_TIMER then order[#order + 1] = b
    elseif type(a) == "table" and a.id == rtos.MSG_SOCK_CONN_CNF then sawConn = true end
end
check(order[1] == 8 and order[2] == 7 and sawConn, "timers in deadline order, CONN_CNF between", order[1], order[2])
check(rtos.tick() - t0 >= 120, "not before their time")
check(quiet(200), "each timer fires once")
sc.sock_destroy(id)
eq(rtos.timer_start(9, 30), 1, "start")
eq(rtos.timer_stop(9), 1, "timer_stop -> 1")
check(quiet(150), "a stopped timer sends nothing")
eq(rtos.timer_start(10, 0), 1, "a timer due at once")
rtos.sleep(100) -- it expires; its message waits in the ring
eq(rtos.timer_stop(10), 1, "stopped after expiry, before rtos.receive took it")
check(quiet(100), "its expiry was withdrawn")
eq(rtos.timer_start(11, 20), 1, "start")
t0 = rtos.tick()
eq(rtos.timer_start(11, 150), 1, "restart replaces it")
local a, b = rtos.receive(2000)
check(a == rtos.MSG_TIMER and b == 11 and rtos.tick() - t0 >= 140, "only the restarted expiry", a, b)
check(quiet(100), "once")
eq(rtos.timer_start(-1, 10), 0, "a negative id is refused with 0")

T.done("test_failures")
