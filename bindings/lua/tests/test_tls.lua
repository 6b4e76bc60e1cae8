-- TLS (type 2) with a private CA, firmware style: socket.tcp(true, cert) calls
-- sock_conn_ext(2, addr, port, cert, rcvBufferSize, insist, nil, 1) as the firmware does.
-- Needs SC_TLS_PORT, SC_MTLS_PORT and SC_CERTS (made by echo_server.py --make-certs).
-- Exits 77 (skipped) when the library reports SSL_EINIT (TLS not built in), unless
-- SOCKETCORE_REQUIRE_TLS=1.
local T = require "check"
local sys = require "sys"
local socket = require "socket"
local sc = require "socketcore"
local TLS, MTLS, CERTS = tonumber(T.env("SC_TLS_PORT")), tonumber(T.env("SC_MTLS_PORT")), T.env("SC_CERTS")
local function pem(name) return CERTS .. "/" .. name end
local function readFile(p) local f = assert(io.open(p, "rb")); local s = f:read("*a"); f:close(); return s end

-- Is TLS there at all?
local probe = sc.sock_conn_ext(2, "127.0.0.1", TLS, { caCert = readFile(pem("ca.pem")) })
if probe == -sc.ERR_SSL_EINIT then
    print("test_tls: SKIPPED: this libsocketcore was built without TLS (sock_conn_ext returns -SSL_EINIT)")
    os.exit(os.getenv("SOCKETCORE_REQUIRE_TLS") == "1" and 1 or 77)
end
if probe >= 0 then sc.sock_destroy(probe) end

-- One exchange; returns "ok", or the step that failed and why.
local function exchange(addr, port, cert, size)
    local c = socket.tcp(true, cert)
    local ok, why = c:connect(addr, port, 10)
    if not ok then return "connect", why end
    local data = string.rep("tls-echo ", math.ceil(size / 9)):sub(1, size)
    local sent, serr = c:send(data, 20)
    local got, n = {}, 0
    while sent and n < size do
        local r, chunk = c:recv(5000)
        if not r then c:close(); return "recv", chunk end
        got[#got + 1] = chunk
        n = n + #chunk
    end
    c:close()
    if not sent then return "send", serr end
    return table.concat(got) == data and "ok" or "mismatch"
end

local function case(name, want, addr, port, cert, size)
    sys.taskInit(function()
        local step, why = exchange(addr, port, cert, size or 100)
        if type(want) == "function" then
            T.check(want(step, why), name, step, why)
        else
            T.check(step == want, name, step, why)
        end
    end)
end

local ECERT = sc.ERR_SSL_ECERT
case("private CA, name = address 127.0.0.1", "ok", "127.0.0.1", TLS, { caCert = pem("ca.pem") }, 50000)
case("private CA, hostName localhost", "ok", "127.0.0.1", TLS, { caCert = pem("ca.pem"), hostName = "localhost" })
case("untrusted CA fails with SSL_ECERT", function(step, why) return step == "connect" and why == ECERT end,
     "127.0.0.1", TLS, { caCert = pem("other_ca.pem") })
case("wrong name, insist=0 fails with SSL_ECERT", function(step, why) return step == "connect" and why == ECERT end,
     "127.0.0.1", TLS, { caCert = pem("ca.pem"), hostName = "wrong.example", insist = 0 })
case("wrong name, insist=1 connects (chain still verified)", "ok",
     "127.0.0.1", TLS, { caCert = pem("ca.pem"), hostName = "wrong.example", insist = 1 })
case("mutual TLS with clientCert/clientKey", "ok", "127.0.0.1", MTLS,
     { caCert = pem("ca.pem"), clientCert = pem("client.pem"), clientKey = pem("client.key") })
case("mutual TLS without a client certificate fails", function(step) return step ~= "ok" end,
     "127.0.0.1", MTLS, { caCert = pem("ca.pem") })

-- unusable PEM is refused at once
T.eq(sc.sock_conn_ext(2, "127.0.0.1", TLS, { caCert = "not a certificate" }), -sc.ERR_SSL_EINVALID,
     "garbage caCert -> -SSL_EINVALID")
-- the TLS layout reads local_port from the 7th argument
sys.taskInit(function()
    local id = sc.sock_conn_ext(2, "127.0.0.1", TLS, { caCert = readFile(pem("ca.pem")) }, 0, 0, nil, 1)
    T.check(id >= 0, "sock_conn_ext(2, addr, port, cert, 0, 0, nil, 1) gives an id", id)
    if id >= 0 then sc.sock_destroy(id) end
end)

T.check(sys.run(60000), "all TLS tasks finished in time")
T.done("test_tls")
