-- Firmware-style UDP client through lib/socket.lua: one sock_send per chunk, one RECV_IND
-- per datagram.
local T = require "check"
local socket = require "socket"
local UDP = tonumber(T.env("SC_UDP_PORT"))

T.task(function()
    local c = socket.udp()
    local ok, id = c:connect("127.0.0.1", UDP, 10)
    if not T.check(ok, "udp connect", id) then return end
    local sizes = { 1, 100, 1472, 9000 }
    for i, n in ipairs(sizes) do
        local d = string.rep(string.char(64 + i), n)
        T.check(c:send(d, 10), "send datagram " .. i)
        local r, echo = c:recv(5000)
        T.check(r and echo == d, "datagram " .. i .. " echoed whole", r and #echo)
    end
    -- 25000 bytes go out as 11200 + 11200 + 2600 byte datagrams (the firmware's chunks)
    T.check(c:send(string.rep("z", 25000), 10), "send 25000 bytes as 3 datagrams")
    local lens = {}
    for i = 1, 3 do
        local r, echo = c:recv(5000)
        lens[i] = r and #echo or -1
    end
    T.check(lens[1] == 11200 and lens[2] == 11200 and lens[3] == 2600, "datagram boundaries kept", lens[1], lens[2], lens[3])
    local r, why = c:recv(300)
    T.check(not r and why == "timeout", "nothing more: recv times out")
    c:close()
    T.check(not c.connected, "closed")
end)

T.run("test_udp", 30000)
