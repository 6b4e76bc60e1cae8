-- Firmware-style UDP client: one sock_send per datagram, one RECV_IND per datagram.
local T = require "check"
local sys = require "sys"
local socket = require "socket"
local UDP = tonumber(T.env("SC_UDP_PORT"))

sys.taskInit(function()
    local c = socket.udp()
    local ok, id = c:connect("127.0.0.1", UDP, 10)
    if not T.check(ok, "udp connect", id) then return end
    local sizes = { 1, 100, 1472, 512 }
    for i, n in ipairs(sizes) do
        local d = string.rep(string.char(64 + i), n)
        T.check(c:send(d, 10), "send datagram " .. i)
        local r, echo = c:recv(5000)
        T.check(r and echo == d, "datagram " .. i .. " echoed whole", r and #echo)
    end
    -- a 3000-byte message goes out as 1472 + 1472 + 56 byte datagrams (the firmware's split)
    T.check(c:send(string.rep("z", 3000), 10), "send 3000 bytes as 3 datagrams")
    local lens = {}
    for i = 1, 3 do
        local r, echo = c:recv(5000)
        lens[i] = r and #echo or -1
    end
    T.check(lens[1] == 1472 and lens[2] == 1472 and lens[3] == 56, "datagram boundaries kept", lens[1], lens[2], lens[3])
    local r, why = c:recv(300)
    T.check(not r and why == "timeout", "nothing more: recv times out")
    c:close()
    T.check(c.id == nil, "closed and destroyed")
end)

T.check(sys.run(30000), "task finished in time")
T.done("test_udp")
