-- A name that does not resolve, firmware style: connect fails (CONN_CNF EDNS) and close()
-- returns. Run by run.sh inside a network namespace of its own whose resolv.conf points at a
-- loopback address where nothing answers, so no query can leave the machine.
local T = require "check"
local socket = require "socket"
local sc = socketcore

T.task(function()
    local c = socket.tcp()
    T.check(not c:connect("no-such-host.socketcore.test", 80, 30), "unresolvable name: connect returns false")
    T.eq(c.result, sc.ERR_EDNS, "... after CONN_CNF EDNS")
    c:close()
    T.check(true, "unresolvable name: close() returned")
end)
T.task(function()
    local id, why = sc.sock_conn_ext(0, "no-such-host.socketcore.test", 80)
    T.check(id >= 0, "sock_conn_ext on a name gives an id at once (it resolves later)", id, why)
    if id >= 0 then sc.sock_destroy(id) end
end)

T.run("test_dns", 60000)
