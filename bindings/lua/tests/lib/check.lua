--- Tiny assertion helpers for the Lua tests: check() counts, done() prints and exits.
local M = { passed = 0, failed = 0 }

function M.check(cond, what, ...)
    if cond then
        M.passed = M.passed + 1
    else
        M.failed = M.failed + 1
        local extra = {}
        for i = 1, select("#", ...) do extra[#extra + 1] = tostring((select(i, ...))) end
        io.stderr:write("FAIL: ", what, #extra > 0 and (" (" .. table.concat(extra, ", ") .. ")") or "", "\n")
    end
    return cond
end

function M.eq(got, want, what)
    return M.check(got == want, what, "got " .. tostring(got), "want " .. tostring(want))
end

function M.env(name)
    local value = os.getenv(name)
    if not value then error("environment variable " .. name .. " is not set", 2) end
    return value
end

--- Starts `fn` as a task (sys.taskInit) that counts towards M.run.
function M.task(fn, ...)
    local sys = require "sys"
    M.pending = (M.pending or 0) + 1
    return sys.taskInit(function(...)
        fn(...)
        M.pending = M.pending - 1
        if M.pending == 0 and M.name then M.done(M.name) end
    end, ...)
end

--- Runs the firmware's message loop (sys.run, which never returns) until every task started
-- with M.task has ended, then reports as `name`; fails after `limit_ms` (a sys timer).
function M.run(name, limit_ms)
    local sys = require "sys"
    M.name = name
    if (M.pending or 0) == 0 then M.done(name) end
    sys.timerStart(function()
        M.check(false, name .. ": every task ended within " .. limit_ms .. " ms", M.pending .. " still running")
        M.done(name)
    end, limit_ms)
    sys.run()
end

function M.done(name)
    print(string.format("%s: %d passed, %d failed", name, M.passed, M.failed))
    -- os.exit skips lua_close (and so the module's own shutdown): stop the library first
    if socketcore then socketcore.sock_shutdown() end
    os.exit(M.failed == 0 and M.passed > 0 and 0 or 1)
end

return M
