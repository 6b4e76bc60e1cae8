--- A small version of the firmware's socket library, written the way the firmware's own
-- socket4G.lua drives socketcore: one coroutine per socket, results from messages.
--   local c = socket.tcp()                   -- or socket.tcp(true, {caCert = "ca.pem"}), socket.udp()
--   if c:connect(host, port) then c:send(data); local ok, data = c:recv(5000) end
--   c:close()
-- The connect/send/close calls suspend the task until the CONN_CNF/SEND_CNF/CLOSE_CNF for
-- this socket arrives; RECV_IND is answered with sock_recv(msg.socket_index, msg.recv_len);
-- the id is destroyed on CLOSE_CNF (or on a failed CONN_CNF), as the firmware does.
local sys = require "sys"

local socket = {}
local sockets = {}              -- core id -> socket object
local SENDSIZE = 11200          -- the firmware's largest single sock_send for TCP
local UDPSIZE = 1472

local mt = {}
mt.__index = mt

local function readFile(path)
    local f = assert(io.open(path, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local function new(protocol, cert, ext)
    local co = coroutine.running()
    assert(co, "socket must be created in a task")
    return setmetatable({ protocol = protocol, cert = cert, ext = ext or {}, co = co,
                          input = {}, wait = "", connected = false }, mt)
end

--- socket.tcp([ssl[, cert[, ext]]]): cert = {caCert=, clientCert=, clientKey= (PEM file
-- paths), hostName=, insist=}; ext = {rcvBufferSize=, localPort=}.
function socket.tcp(ssl, cert, ext)
    return new(ssl == true and "TCPSSL" or "TCP", ssl == true and cert or nil, ext)
end

function socket.udp(ext)
    return new("UDP", nil, ext)
end

local function suspend(self, wait, timeout_ms)
    self.wait = wait
    local tid = sys.timerStart(sys.resume, timeout_ms, self.co, false, "TIMEOUT")
    local result, reason, code = coroutine.yield()
    if reason ~= "TIMEOUT" then sys.timerStop(tid) end
    return result, reason, code
end

--- Returns true, id when connected; false, reason (a code from sock_conn_ext, "TIMEOUT" or
-- the CONN_CNF result) otherwise.
function mt:connect(address, port, timeout)
    assert(self.co == coroutine.running(), "socket:connect: coroutine mismatch")
    local rcvBufferSize = self.ext.rcvBufferSize or 0
    if self.protocol == "TCP" then
        self.id = socketcore.sock_conn_ext(0, address, port, rcvBufferSize, nil, self.ext.localPort)
    elseif self.protocol == "TCPSSL" then
        local cert, insist = { hostName = address }, 1
        if self.cert then
            if self.cert.hostName then cert.hostName = self.cert.hostName end
            if self.cert.caCert then cert.caCert = readFile(self.cert.caCert) end
            if self.cert.clientCert then cert.clientCert = readFile(self.cert.clientCert) end
            if self.cert.clientKey then cert.clientKey = readFile(self.cert.clientKey) end
            insist = self.cert.insist == 0 and 0 or 1
        end
        -- the firmware's exact call: cert, rcvBufferSize, insist, local_port, hostNameFlag
        self.id = socketcore.sock_conn_ext(2, address, port, cert, rcvBufferSize, insist, nil, 1)
    else
        self.id = socketcore.sock_conn_ext(1, address, port, rcvBufferSize, nil, self.ext.localPort)
    end
    if not self.id or self.id < 0 then
        local code = self.id
        self.id = nil
        return false, code
    end
    sockets[self.id] = self
    local result, reason, code = suspend(self, "SOCKET_CONNECT", (timeout or 120) * 1000)
    if not result then
        if reason == "RESPONSE" then sockets[self.id] = nil; self.id = nil end
        return false, code or reason
    end
    self.connected = true
    return true, self.id
end

--- Sends `data` in chunks, waiting for each SEND_CNF. Returns true, or false and why.
function mt:send(data, timeout)
    assert(self.co == coroutine.running(), "socket:send: coroutine mismatch")
    if self.error then return false, self.error end
    local size = self.protocol == "UDP" and UDPSIZE or SENDSIZE
    for i = 1, #data, size do
        local ok, err = socketcore.sock_send(self.id, data:sub(i, i + size - 1))
        if ok ~= 1 then return false, err end
        local result, reason, code = suspend(self, "SOCKET_SEND", (timeout or 120) * 1000)
        if not result then return false, code or reason end
    end
    return true
end

--- Waits for data: true, data; false, "timeout"; false, "CLOSED" (after buffered data).
-- UDP returns one datagram per call, TCP everything received so far.
function mt:recv(timeout_ms)
    assert(self.co == coroutine.running(), "socket:recv: coroutine mismatch")
    if #self.input == 0 then
        if self.error then return false, self.error end
        local result, data = suspend(self, "+RECEIVE", timeout_ms or 120000)
        self.wait = ""
        if data == "TIMEOUT" then return false, "timeout" end
        return result, data
    end
    if self.protocol == "UDP" then return true, table.remove(self.input, 1) end
    local s = table.concat(self.input)
    self.input = {}
    return true, s
end

function mt:close()
    assert(self.co == coroutine.running(), "socket:close: coroutine mismatch")
    if self.id then
        socketcore.sock_close(self.id)
        repeat
            local _, reason = suspend(self, "SOCKET_CLOSE", 30000)
        until reason == "RESPONSE" or reason == "TIMEOUT"
        sockets[self.id] = nil
        self.id = nil
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
    if (msg.id == rtos.MSG_SOCK_CONN_CNF and msg.result ~= 0) or msg.id == rtos.MSG_SOCK_CLOSE_CNF then
        socketcore.sock_destroy(msg.socket_index)
    end
    if not s or s.wait ~= expect[msg.id] then return end
    s.wait = ""
    sys.resume(s.co, msg.result == 0, "RESPONSE", msg.result)
end

rtos.on(rtos.MSG_SOCK_CONN_CNF, onResponse)
rtos.on(rtos.MSG_SOCK_SEND_CNF, onResponse)
rtos.on(rtos.MSG_SOCK_CLOSE_CNF, onResponse)

rtos.on(rtos.MSG_SOCK_RECV_IND, function(msg)
    local s = sockets[msg.socket_index]
    if not s then return end
    local data = socketcore.sock_recv(msg.socket_index, msg.recv_len)
    if s.wait == "+RECEIVE" then
        s.wait = ""
        sys.resume(s.co, true, data)
    else
        s.input[#s.input + 1] = data
    end
end)

rtos.on(rtos.MSG_SOCK_CLOSE_IND, function(msg)
    local s = sockets[msg.socket_index]
    if not s then return end
    s.error = "CLOSED"
    s.connected = false
    if s.wait == "+RECEIVE" then
        s.wait = ""
        sys.resume(s.co, false, "CLOSED")
    end
end)

_G.socket = socket
return socket
