-- TLS (type 2) with a private CA. First without the scheduler (argument layouts, hostName and
-- insist), then firmware style through lib/socket.lua: socket.tcp(true, cert) calls
-- sock_conn_ext(2, addr, port, {hostName = addr, caCert = ..., ...}) as the firmware does;
-- a failed handshake fails the connect and close() still returns.
-- Needs SC_TLS_PORT, SC_MTLS_PORT and SC_CERTS (made by echo_server.py --make-certs).
-- Exits 77 (skipped) when the library reports SSL_EINIT (TLS not built in), unless
-- SOCKETCORE_REQUIRE_TLS=1.
local T = require "check"
local sc = require "socketcore"
local socket = require "socket"
local TLS, MTLS, CERTS = tonumber(T.env("SC_TLS_PORT")), tonumber(T.env("SC_MTLS_PORT")), T.env("SC_CERTS")
local function pem(name) return CERTS .. "/" .. name end
local function readFile(p) local f = assert(io.open(p, "rb")); local s = f:read("*a"); f:close(); return s end
local ECERT = sc.ERR_SSL_ECERT

-- Is TLS there at all?
local probe, why = sc.sock_conn_ext(2, "127.0.0.1", TLS, { caCert = readFile(pem("ca.pem")) })
if probe < 0 and why == sc.ERR_SSL_EINIT then
    print("test_tls: SKIPPED: this libsocketcore was built without TLS (SSL_EINIT)")
    os.exit(os.getenv("SOCKETCORE_REQUIRE_TLS") == "1" and 1 or 77)
end
if probe >= 0 then sc.sock_destroy(probe) end

-- Without the scheduler: the CONN_CNF result of one connect.
local function connResult(...)
    local id = sc.sock_conn_ext(...)
    if id < 0 then return "refused" end
    local deadline = rtos.tick() + 10000
    while rtos.tick() < deadline do
        local m = rtos.receive(100)
        if type(m) == "table" and m.socket_index == id and m.id == rtos.MSG_SOCK_CONN_CNF then
            local why = sc.sock_tls_error_text(id) -- read before the id is destroyed
            local info = m.result == 0 and sc.sock_tls_info(id)
            sc.sock_destroy(id)
            return m.result, why, info
        end
    end
    sc.sock_destroy(id)
    return "no CONN_CNF"
end
local ca = readFile(pem("ca.pem"))
local res, why, info = connResult(2, "127.0.0.1", TLS, { caCert = ca, hostName = "localhost" })
T.eq(res, 0, "hostName localhost")
T.check(why == "" and type(info) == "string" and info:match("^TLSv1_[23] "), "no TLS failure text; version and suite", why, info)
res, why = connResult(2, "127.0.0.1", TLS, { caCert = readFile(pem("other_ca.pem")) })
T.check(res == ECERT and why:match("UnknownIssuer"), "untrusted CA: SSL_ECERT, and sock_tls_error_text says why", res, why)
T.eq(connResult(2, "127.0.0.1", TLS, { caCert = ca, hostName = "wrong.example" }, 0, 0), ECERT,
     "wrong name, insist=0 -> SSL_ECERT")
T.eq(connResult(2, "127.0.0.1", TLS, { caCert = ca, hostName = "wrong.example" }, 0, 1), 0,
     "wrong name, insist=1 connects (chain still verified)")
T.eq(connResult(2, "127.0.0.1", TLS, { caCert = ca }, 0, 0, nil, 1), 0,
     "sock_conn_ext(2, addr, port, cert, 0, 0, nil, 1): the full firmware layout")
local bad, badWhy = sc.sock_conn_ext(2, "127.0.0.1", TLS, { caCert = "not a certificate" })
T.check(bad == -1 and badWhy == sc.ERR_SSL_EINVALID, "garbage caCert -> -1, SSL_EINVALID", bad, badWhy)

-- Firmware style: one exchange; returns "ok", or the step that failed and the last result.
local function exchange(port, cert, size)
    local c = socket.tcp(true, cert)
    if not c:connect("127.0.0.1", port, 10) then
        local result = c.result
        c:close() -- the original's users close after a failed connect; it must return
        return "connect", result
    end
    local data = string.rep("tls-echo ", math.ceil(size / 9)):sub(1, size)
    local sent = c:send(data, 20)
    local got, n = {}, 0
    while sent and n < size do
        local r, chunk = c:recv(5000)
        if not r then c:close(); return "recv", chunk end
        got[#got + 1] = chunk
        n = n + #chunk
    end
    c:close()
    if not sent then return "send", c.result end
    return table.concat(got) == data and "ok" or "mismatch"
end

local function case(name, want, port, cert, size)
    T.task(function()
        local step, res = exchange(port, cert, size or 100)
        if type(want) == "function" then
            T.check(want(step, res), name, step, res)
        else
            T.check(step == want, name, step, res)
        end
    end)
end

case("private CA", "ok", TLS, { caCert = pem("ca.pem") }, 50000)
case("untrusted CA: connect fails with SSL_ECERT, close returns",
     function(step, res) return step == "connect" and res == ECERT end, TLS, { caCert = pem("other_ca.pem") })
case("mutual TLS with clientCert/clientKey", "ok", MTLS,
     { caCert = pem("ca.pem"), clientCert = pem("client.pem"), clientKey = pem("client.key") })
case("mutual TLS without a client certificate fails, close returns", function(step) return step ~= "ok" end,
     MTLS, { caCert = pem("ca.pem") })

T.run("test_tls", 60000)
