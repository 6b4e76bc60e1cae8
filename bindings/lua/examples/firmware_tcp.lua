-- A Luat-style TCP client: a task connects, sends, reads the echo and closes.
require "sys"
require "socket"

local host, port = "127.0.0.1", tonumber(arg[1] or 7000)

sys.taskInit(function()
    local c = socket.tcp()
    if not c:connect(host, port, 10) then
        print("connect failed")
        c:close()  -- returns even after a failed connect: its CLOSE_CNF always comes
        os.exit(1)
    end
    c:send("hello from a Luat task")
    local ok, data = c:recv(5000)
    print(ok and ("echo: " .. data) or "no echo")
    c:close()
    os.exit(ok and 0 or 1)  -- a host script ends here; firmware tasks run forever
end)

sys.run()  -- the firmware's loop: rtos.receive, timers, socket messages; never returns
