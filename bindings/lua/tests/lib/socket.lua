--- A host replica of the firmware's `socket` library (openLuat script_LuaTask/lib/socket.lua),
-- written from its documented behaviour so that the tests drive the Lua module as the original
-- does, failure paths included:
--   * connect: sock_conn_ext(type, addr, port[, cert]); a result of -2 is the firmware's "the
--     name did not resolve at once", after which the original asks an HTTP DNS service on the
--     internet (here: an error, so a test that reaches it fails); any other negative result
--     fails the connect. Then it waits for CONN_CNF under a `timeout` s timer (default 120).
--   * send: chunks of 11200 bytes; the return value of sock_send is ignored and each chunk
--     waits for its SEND_CNF under a `timeout` s timer (default 120).
--   * close: sock_close, then waits for CLOSE_CNF with no timeout at all.
--   * CONN_CNF with a failure and CLOSE_CNF destroy the id at once; responses that do not
--     match what the socket waits for are ignored; CLOSE_IND marks the socket "CLOSED".
-- Host addition for tests: `c.result` keeps the result code of the last response.
local sys = require "sys"

local socket = {}
local sockets = {}        -- core id -> socket object
local SENDSIZE = 11200    -- the firmware's largest single sock_send
local INPUT_MAX = 256     -- buffered receives before the firmware stops reading

local mt = {}
mt.__index = mt

local function readFile(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function new(protocol, cert)
    local co = coroutine.running()
    if not co then return nil end -- the original only logs a warning
    return setmetatable({ protocol = protocol, cert = cert, co = co, input = {}, wait = "",
                          connected = false }, mt)
end

--- socket.tcp([ssl[, cert]]): cert = {caCert=, clientCert=, clientKey=} (PEM file paths).
function socket.tcp(ssl, cert)
    return new(ssl == true and "TCPSSL" or "TCP", ssl == true and cert or nil)
end

function socket.udp()
    return new("UDP")
end

--- Waits for the response `wait` under a timer of `ms`: result, reason ("RESPONSE",
-- "TIMEOUT", "CLOSED").
local function waitFor(self, wait, ms)
    self.wait = wait
    self.timerId = sys.timerStart(sys.resume, ms, self.co, false, "TIMEOUT")
    local result, reason = coroutine.yield()
    if self.timerId and reason ~= "TIMEOUT" then sys.timerStop(self.timerId) end
    return result, reason
end

--- Returns true and the id when connected, false otherwise.
function mt:connect(address, port, timeout)
    assert(self.co == coroutine.running(), "socket:connect: coroutine mismatch")
    self.address, self.port = address, port
    if self.protocol == "TCP" then
        self.id = socketcore.sock_conn_ext(0, address, port)
    elseif self.protocol == "TCPSSL" then
        local cert = { hostName = address }
        if self.cert then
            if self.cert.caCert then cert.caCert = readFile(self.cert.caCert) end
            if self.cert.clientCert then cert.clientCert = readFile(self.cert.clientCert) end
            if self.cert.clientKey then cert.clientKey = readFile(self.cert.clientKey) end
        end
        self.id = socketcore.sock_conn_ext(2, address, port, cert)
    else
        self.id = socketcore.sock_conn_ext(1, address, port)
    end
    if not self.id or self.id < 0 then
        if self.id == -2 then
            error("sock_conn_ext returned -2: the original would now send a DNS query over HTTP to a public server")
        end
        self.id = nil
        return false
    end
    sockets[self.id] = self
    local result = waitFor(self, "SOCKET_CONNECT", (timeout or 120) * 1000)
    if not result then return false end
    self.connected = true
    return true, self.id
end

--- Sends `data` in chunks, each waiting for its SEND_CNF. Returns true or false.
function mt:send(data, timeout)
    assert(self.co == coroutine.running(), "socket:send: coroutine mismatch")
    if self.error then return false end
    for i = 1, #(data or ""), SENDSIZE do
        socketcore.sock_send(self.id, data:sub(i, i + SENDSIZE - 1))
        local result = waitFor(self, "SOCKET_SEND", (timeout or 120) * 1000)
        if not result then return false end
    end
    return true
end

--- Waits for data: true, data; false, "timeout" (after `timeout` ms); false, "CLOSED".
-- UDP returns one datagram per call, TCP everything received so far.
function mt:recv(timeout)
    assert(self.co == coroutine.running(), "socket:recv: coroutine mismatch")
    if self.error then return false end
    if #self.input == 0 then
        self.wait = "+RECEIVE"
        if timeout and timeout > 0 then
            local r, s = sys.wait(timeout)
            if r == nil then return false, "timeout" end
            return r, s
        end
        return coroutine.yield()
    end
    if self.protocol == "UDP" then return true, table.remove(self.input, 1) end
    local s = table.concat(self.input)
    self.input = {}
    return true, s
end

--- Closes the socket and waits for its CLOSE_CNF, with no timeout (as the original).
function mt:close()
    assert(self.co == coroutine.running(), "socket:close: coroutine mismatch")
    if self.id then
        socketcore.sock_close(self.id)
        self.wait = "SOCKET_CLOSE"
        repeat
            local _, reason = coroutine.yield()
        until reason == "RESPONSE"
        sockets[self.id] = nil
    end
    self.connected = false
end

local expect = {
    [rtos.MSG_SOCK_CONN_CNF] = "SOCKET_CONNECT",
    [rtos.MSG_SOCK_SEND_CNF] = "SOCKET_SEND",
    [rtos.MSG_SOCK_CLOSE_CNF] = "SOCKET_CLOSE",
}

local function onResponse(msg)
    local s = sockets[msg.socket_index]
    if not s or s.wait ~= expect[msg.id] then return end
    if (msg.id == rtos.MSG_SOCK_CONN_CNF and msg.result ~= 0) or msg.id == rtos.MSG_SOCK_CLOSE_CNF then
        socketcore.sock_destroy(msg.socket_index)
    end
    s.result = msg.result
    sys.resume(s.co, msg.result == 0, "RESPONSE")
end

rtos.on(rtos.MSG_SOCK_CONN_CNF, onResponse)
rtos.on(rtos.MSG_SOCK_SEND_CNF, onResponse)
rtos.on(rtos.MSG_SOCK_CLOSE_CNF, onResponse)

rtos.on(rtos.MSG_SOCK_CLOSE_IND, function(msg)
    local s = sockets[msg.socket_index]
    if not s then return end
    s.connected = false
    s.error = "CLOSED"
    s.result = msg.result
    sys.resume(s.co, false, "CLOSED")
end)

rtos.on(rtos.MSG_SOCK_RECV_IND, function(msg)
    local s = sockets[msg.socket_index]
    if not s then return end
    if s.wait == "+RECEIVE" then
        s.wait = ""
        sys.resume(s.co, true, socketcore.sock_recv(msg.socket_index, msg.recv_len))
    elseif #s.input <= INPUT_MAX then
        s.input[#s.input + 1] = socketcore.sock_recv(msg.socket_index, msg.recv_len)
    end
end)

_G.socket = socket
return socket
