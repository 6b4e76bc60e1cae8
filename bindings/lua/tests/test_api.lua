-- The socketcore and rtos Lua API without the scheduler: constants, argument layouts,
-- bad input, refusal, options. Needs SC_TCP_PORT, SC_WHOAMI_PORT, SC_CLOSED_PORT.
local T = require "check"
local sc = require "socketcore"
local rtos = require "rtos"
local check, eq = T.check, T.eq
local TCP, WHOAMI, CLOSED = tonumber(T.env("SC_TCP_PORT")), tonumber(T.env("SC_WHOAMI_PORT")), tonumber(T.env("SC_CLOSED_PORT"))

-- Takes messages until one of kind `kind` for socket `id` arrives (others are dropped).
local function waitFor(id, kind, ms)
    local deadline = rtos.tick() + (ms or 5000)
    while rtos.tick() < deadline do
        local m = rtos.receive(100)
        if type(m) == "table" and m.socket_index == id and m.id == kind then return m end
    end
end

-- Reads everything a whoami server sends, until CLOSE_IND.
local function readAll(id, ms)
    local parts, deadline = {}, rtos.tick() + (ms or 5000)
    while rtos.tick() < deadline do
        local m = rtos.receive(100)
        if type(m) == "table" and m.socket_index == id then
            if m.id == rtos.MSG_SOCK_RECV_IND then parts[#parts + 1] = sc.sock_recv(id, m.recv_len)
            elseif m.id == rtos.MSG_SOCK_CLOSE_IND then break end
        end
    end
    return table.concat(parts)
end

-- constants keep the firmware's values
eq(sc.SOL_SOCKET, 0xfff, "SOL_SOCKET"); eq(sc.IPPROTO_TCP, 6, "IPPROTO_TCP")
eq(sc.SO_REUSEADDR, 4, "SO_REUSEADDR"); eq(sc.SO_KEEPALIVE, 8, "SO_KEEPALIVE")
eq(sc.TCP_KEEPIDLE, 3, "TCP_KEEPIDLE"); eq(sc.TCP_KEEPINTVL, 4, "TCP_KEEPINTVL"); eq(sc.TCP_KEEPCNT, 5, "TCP_KEEPCNT")
local errs = { "OK", "ENOMEM", "ENOBUFS", "ETIMEOUT", "ERTE", "EINPROGRESS", "EINVAL", "EWOULDBLOCK",
    "EADDRINUSE", "EALREADY", "EISCONN", "ENOTCONN", "EIF", "EABORT", "ERST", "ECLSD", "EARG", "EIO",
    "SSL_EHANDESHAK", "SSL_EINIT", "SSL_EINVALID", "EDNS", "ECONNREFUSED", "EBADID", "EPERM", "SSL_ECERT", "EPANIC" }
for i, name in ipairs(errs) do eq(sc["ERR_" .. name], i - 1, "ERR_" .. name) end
eq(sc.ERR_UNKOWN, -1, "ERR_UNKOWN")
eq(rtos.MSG_SOCK_RECV_IND, 31, "RECV_IND"); eq(rtos.MSG_SOCK_SEND_CNF, 32, "SEND_CNF")
eq(rtos.MSG_SOCK_CLOSE_CNF, 33, "CLOSE_CNF"); eq(rtos.MSG_SOCK_CONN_CNF, 34, "CONN_CNF")
eq(rtos.MSG_SOCK_CLOSE_IND, 36, "CLOSE_IND"); eq(rtos.INF_TIMEOUT, -1, "INF_TIMEOUT")
eq(rtos.WAIT_MSG_TIMEOUT, 4, "WAIT_MSG_TIMEOUT"); eq(rtos.MSG_TIMER, 5, "MSG_TIMER")
eq(rtos.MSG_TIMEOUT, rtos.WAIT_MSG_TIMEOUT, "MSG_TIMEOUT is an alias")
check(type(sc.VERSION) == "string" and sc.VERSION == sc.sock_version(), "VERSION")
check(rtos == _G.rtos and sc == _G.socketcore, "globals as on the firmware")

-- timeout marker
eq(rtos.receive(0), rtos.WAIT_MSG_TIMEOUT, "receive(0) with nothing pending")
local t0 = rtos.tick(); eq(rtos.receive(150), rtos.WAIT_MSG_TIMEOUT, "receive(150)")
check(rtos.tick() - t0 >= 140, "receive(150) waited")

-- bad input: nil/negative codes, never a crash; wrong Lua types raise errors
local id, code = sc.sock_conn(0, "127.0.0.1", 0)
check(id == nil and code == sc.ERR_EARG, "sock_conn port 0 -> nil, EARG", id, code)
check(sc.sock_conn(0, "127.0.0.1", 65536) == nil, "sock_conn port 65536 -> nil")
check(sc.sock_conn(0, "", 80) == nil, "sock_conn empty addr -> nil")
check(sc.sock_conn(9, "127.0.0.1", 80) == nil, "sock_conn unknown type -> nil")
-- sock_conn_ext refuses with -1 and the reason, never -2 (the firmware's "DNS failed")
local function refusedWith(code, ...)
    local r, why = sc.sock_conn_ext(...)
    return r == -1 and why == code, r, why
end
check(refusedWith(sc.ERR_EARG, 0, "127.0.0.1", 70000), "sock_conn_ext bad port -> -1, EARG")
check(refusedWith(sc.ERR_EARG, 0, "127.0.0.1\0evil", TCP), "addr with NUL -> -1, EARG")
check(refusedWith(sc.ERR_EARG, 0, string.rep("a", 300), TCP), "over-long addr -> -1, EARG")
check(refusedWith(sc.ERR_EARG, 0, "127.0.0.1", TCP, 1024 * 1024 * 1024), "rcvBufferSize 1 GiB -> -1, EARG")
check(not pcall(sc.sock_conn, "tcp", "127.0.0.1", 80), "type not a number raises")
check(not pcall(sc.sock_conn, 0, nil, 80), "addr nil raises")
check(not pcall(sc.sock_conn, 0, "127.0.0.1", 80.5), "port 80.5 raises")
check(not pcall(sc.sock_conn_ext, 2, "127.0.0.1", 443, { caCert = 42 }), "cert.caCert not a string raises")
check(not pcall(rtos.receive, -5), "receive(-5) raises")
local r, err = sc.sock_send(4242, "x"); check(r == 0 and err == sc.ERR_EBADID, "send on unknown id", r, err)
local reply = rtos.receive(1000)
check(type(reply) == "table" and reply.id == rtos.MSG_SOCK_SEND_CNF and reply.socket_index == 4242
      and reply.result == sc.ERR_EBADID and reply.send_len == 0, "... answered by a failed SEND_CNF")
local s, c2 = sc.sock_recv(4242, 10); check(s == "" and c2 == sc.ERR_EBADID, "recv on unknown id", s, c2)
eq(sc.sock_close(-1), 0, "close(-1): no such slot, no CLOSE_CNF")
eq(sc.sock_destroy(99999), 1, "destroy(99999) returns 1, as on the firmware")
eq(sc.sock_setopt(4242, sc.SOL_SOCKET, sc.SO_KEEPALIVE, 1), -1, "setopt on unknown id")
eq(sc.sock_error(4242), sc.ERR_EBADID, "sock_error unknown id")
check(sc.sock_strerror(sc.ERR_ECONNREFUSED):len() > 5, "strerror has text")

-- refused connection: an id at once, then CONN_CNF with ECONNREFUSED
id = sc.sock_conn(0, "127.0.0.1", CLOSED)
check(type(id) == "number" and id >= 0, "sock_conn to a closed port gives an id")
local m = waitFor(id, rtos.MSG_SOCK_CONN_CNF)
check(m and m.result == sc.ERR_ECONNREFUSED, "CONN_CNF ECONNREFUSED", m and m.result)
eq(sc.sock_destroy(id), 1, "destroy after failed connect")

-- a connected socket: send before CONN_CNF, options, sends, recv sizes, close, destroy
id = sc.sock_conn_ext(0, "127.0.0.1", TCP)
local early, earlyErr = sc.sock_send(id, "early")
check(early == 1 or (early == 0 and earlyErr == sc.ERR_ENOTCONN), "send before CONN_CNF: 1 or 0, ENOTCONN", early, earlyErr)
eq(sc.sock_setopt(id, sc.SOL_SOCKET, sc.SO_KEEPALIVE, 1), 0, "SO_KEEPALIVE")
eq(sc.sock_setopt(id, sc.IPPROTO_TCP, sc.TCP_KEEPIDLE, 30), 0, "TCP_KEEPIDLE")
eq(sc.sock_setopt(id, sc.IPPROTO_TCP, sc.TCP_KEEPINTVL, 60), 0, "TCP_KEEPINTVL")
eq(sc.sock_setopt(id, sc.IPPROTO_TCP, sc.TCP_KEEPCNT, 3), 0, "TCP_KEEPCNT")
eq(sc.sock_setopt(id, sc.SOL_SOCKET, 99, 1), -1, "unknown option")
eq(sc.sock_setopt(id, sc.IPPROTO_TCP, sc.TCP_KEEPCNT, "3"), -1, "optval not a number")
m = waitFor(id, rtos.MSG_SOCK_CONN_CNF)
check(m and m.result == 0, "CONN_CNF ok")
if early == 1 then
    m = waitFor(id, rtos.MSG_SOCK_SEND_CNF)
    check(m and m.result == 0 and m.send_len == 5, "the early send's SEND_CNF", m and m.result)
end
r, err = sc.sock_send(id, "")
check(r == 0 and err == sc.ERR_EARG, "empty send refused with EARG", r, err)
m = waitFor(id, rtos.MSG_SOCK_SEND_CNF)
check(m and m.result == sc.ERR_EARG and m.send_len == 0, "the refusal's SEND_CNF", m and m.result)
r, err = sc.sock_send(id, "hello")
check(r == 1 and err == 0, "send accepted", r, err)
m = waitFor(id, rtos.MSG_SOCK_SEND_CNF)
check(m and m.result == 0 and m.send_len == 5, "SEND_CNF send_len 5", m and m.send_len)
local want = (early == 1 and "early" or "") .. "hello"
local got = ""
local deadline = rtos.tick() + 5000
while #got < #want and rtos.tick() < deadline do
    m = waitFor(id, rtos.MSG_SOCK_RECV_IND, 1000)
    if m then got = got .. sc.sock_recv(id, m.recv_len) end
end
eq(got, want, "echo")
s, c2 = sc.sock_recv(id, 0); check(s == "" and c2 == sc.ERR_EARG, "recv len 0 -> EARG")
eq(sc.sock_peer_addr(id), "127.0.0.1:" .. TCP, "sock_peer_addr")
check((sc.sock_local_addr(id) or ""):match("^127%.0%.0%.1:%d+$"), "sock_local_addr", sc.sock_local_addr(id))
local none, code = sc.sock_peer_addr(4242)
check(none == nil and code == sc.ERR_EBADID, "sock_peer_addr of an unknown id -> nil, EBADID", none, code)
none, code = sc.sock_tls_info(id)
check(none == nil and code == sc.ERR_EINVAL, "sock_tls_info of a TCP socket -> nil, EINVAL", none, code)
eq(sc.sock_recv(id, 100), "", "recv with nothing buffered")
eq(sc.sock_close(id), 1, "close accepted")
eq(sc.sock_close(id), 1, "second close: 1, as on the firmware")
check(waitFor(id, rtos.MSG_SOCK_CLOSE_CNF) ~= nil, "CLOSE_CNF")
check(waitFor(id, rtos.MSG_SOCK_CLOSE_CNF) ~= nil, "a CLOSE_CNF for each close")
eq(sc.sock_destroy(id), 1, "destroy")
eq(sc.sock_destroy(id), 1, "destroy twice: 1, as on the firmware")

-- the non-TLS layout: type, addr, port, rcvBufferSize, insist, local_port, hostNameFlag
local function localPortWorks(layoutCall)
    for _ = 1, 5 do
        local lp = 20000 + math.random(0, 9999)
        local sid = layoutCall(lp)
        local cnf = waitFor(sid, rtos.MSG_SOCK_CONN_CNF)
        if cnf and cnf.result == 0 then
            local text = readAll(sid)
            sc.sock_close(sid); waitFor(sid, rtos.MSG_SOCK_CLOSE_CNF); sc.sock_destroy(sid)
            return text == ("127.0.0.1 " .. lp .. "\n"), text
        end
        sc.sock_destroy(sid)
    end
    return false, "no free local port"
end
math.randomseed(os.time())
check(localPortWorks(function(lp) return sc.sock_conn_ext(0, "127.0.0.1", WHOAMI, 4096, 0, lp, 0) end),
      "TCP local_port is the 6th argument")

-- sock_shutdown, then the library starts afresh
sc.sock_shutdown()
id = sc.sock_conn(0, "127.0.0.1", TCP)
m = waitFor(id, rtos.MSG_SOCK_CONN_CNF)
check(m and m.result == 0, "works again after sock_shutdown")
sc.sock_destroy(id)

T.done("test_api")
