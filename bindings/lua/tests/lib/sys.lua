--- A host replica of the firmware's `sys` library (openLuat script_LuaTask/lib/sys.lua),
-- written from its documented behaviour so that tests drive the Lua module exactly as the
-- original does: tasks are coroutines; sys.wait and sys.timerStart arm rtos timers
-- (rtos.timer_start must return 1); sys.run takes messages with rtos.receive(rtos.INF_TIMEOUT)
-- forever, resumes the task or calls the callback a timer expiry belongs to, and hands other
-- messages to the handler registered with rtos.on (a number with its parameter, or a table by
-- its id). Published topics are delivered before each receive.
--
-- One deliberate difference, for tests: an error inside a task stops the script with the
-- task's traceback (the firmware's coroutine.resume drops it and the task silently ends).
require "socketcore" -- defines the globals socketcore and rtos, as on the firmware

local sys = {}
local unpack = unpack or table.unpack

local TASK_TIMER_MAX = 0x1FFFFFFF   -- task timers use ids 1 .. TASK_TIMER_MAX
local MSG_TIMER_MAX = 0x7FFFFFFF    -- callback timers use the ids above it
local taskTimerId, msgTimerId = 0, TASK_TIMER_MAX
local timerPool = {}                -- timer id -> task (coroutine) or callback
local taskTimerOf = {}              -- task -> the id of the timer it sleeps on
local timerArgs, timerLoop = {}, {} -- callback timer id -> {n=, ...}; -> period when looping
local handlers = setmetatable({}, { __index = function() return function() end end })
local subscribers, queue = {}, {}

--- Resumes a task; an error inside it stops the script with the task's traceback.
function sys.resume(co, ...)
    if type(co) ~= "thread" or coroutine.status(co) ~= "suspended" then return end
    local ok, err = coroutine.resume(co, ...)
    if not ok then error(debug.traceback(co, tostring(err)), 0) end
end

function sys.taskInit(fn, ...)
    local co = coroutine.create(fn)
    sys.resume(co, ...)
    return co
end

--- Suspends the running task for `ms` (at least 5) milliseconds. Returns nothing when the time
-- passed, or the values another party resumed the task with.
function sys.wait(ms)
    assert(ms > 0, "sys.wait: the time must be positive")
    if ms < 5 then ms = 5 end
    taskTimerId = taskTimerId >= TASK_TIMER_MAX and 1 or taskTimerId + 1
    local co, id = coroutine.running(), taskTimerId
    taskTimerOf[co], timerPool[id] = id, co
    if rtos.timer_start(id, ms) ~= 1 then return end
    local r = { coroutine.yield() }
    if #r ~= 0 then -- resumed by someone else: the timer is no longer wanted
        rtos.timer_stop(id)
        taskTimerOf[co], timerPool[id] = nil, nil
        return unpack(r)
    end
end

local function sameArgs(a, b)
    a, b = a or { n = 0 }, b or { n = 0 }
    if a.n ~= b.n then return false end
    for i = 1, a.n do if a[i] ~= b[i] then return false end end
    return true
end

function sys.timerStop(val, ...)
    if type(val) == "number" then
        timerPool[val], timerArgs[val], timerLoop[val] = nil, nil, nil
        rtos.timer_stop(val)
        return
    end
    local args = { n = select("#", ...), ... }
    for id, cb in pairs(timerPool) do
        if cb == val and sameArgs(args, timerArgs[id]) then
            rtos.timer_stop(id)
            timerPool[id], timerArgs[id], timerLoop[id] = nil, nil, nil
            return
        end
    end
end

function sys.timerStopAll(fn)
    for id, cb in pairs(timerPool) do
        if cb == fn then
            rtos.timer_stop(id)
            timerPool[id], timerArgs[id], timerLoop[id] = nil, nil, nil
        end
    end
end

--- Calls fn(...) after `ms` (at least 5) milliseconds, replacing a timer with the same callback
-- and arguments. Returns the timer id, or nil when rtos.timer_start refused.
function sys.timerStart(fn, ms, ...)
    assert(fn ~= nil, "sys.timerStart: no callback")
    assert(ms > 0, "sys.timerStart: the time must be positive")
    if ms < 5 then ms = 5 end
    sys.timerStop(fn, ...)
    repeat
        msgTimerId = msgTimerId >= MSG_TIMER_MAX and TASK_TIMER_MAX + 1 or msgTimerId + 1
    until timerPool[msgTimerId] == nil
    local id = msgTimerId
    timerPool[id] = fn
    if rtos.timer_start(id, ms) ~= 1 then timerPool[id] = nil return end
    if select("#", ...) > 0 then timerArgs[id] = { n = select("#", ...), ... } end
    return id
end

function sys.timerLoopStart(fn, ms, ...)
    local id = sys.timerStart(fn, ms, ...)
    if id then timerLoop[id] = ms < 5 and 5 or ms end
    return id
end

function sys.timerIsActive(val, ...)
    if type(val) == "number" then return timerPool[val] ~= nil end
    local args = { n = select("#", ...), ... }
    for id, cb in pairs(timerPool) do
        if cb == val and sameArgs(args, timerArgs[id]) then return true end
    end
    return false
end

function sys.subscribe(topic, fn)
    subscribers[topic] = subscribers[topic] or {}
    subscribers[topic][fn] = true
end

function sys.unsubscribe(topic, fn)
    if subscribers[topic] then subscribers[topic][fn] = false end
end

function sys.publish(...)
    queue[#queue + 1] = { n = select("#", ...), ... }
end

--- Waits for `topic` (or `ms`): true and the topic's values, or false after `ms`.
function sys.waitUntil(topic, ms)
    local co = coroutine.running()
    sys.subscribe(topic, co)
    local r = ms and { sys.wait(ms) } or { coroutine.yield() }
    sys.unsubscribe(topic, co)
    return r[1] ~= nil, unpack(r, 2, #r)
end

local function dispatch()
    while #queue > 0 do
        local m = table.remove(queue, 1)
        local subs = subscribers[m[1]]
        if subs then
            for cb, on in pairs(subs) do
                if on then
                    if type(cb) == "thread" then sys.resume(cb, unpack(m, 1, m.n))
                    else cb(unpack(m, 2, m.n)) end
                end
            end
            for cb, on in pairs(subs) do if not on then subs[cb] = nil end end
        end
    end
end

--- rtos.on(message id, handler), as the firmware's sys adds it.
function rtos.on(id, handler)
    handlers[id] = handler
end

local function onTimer(id)
    local owner = timerPool[id]
    if not owner then return end -- stopped meanwhile
    if type(owner) == "thread" then
        timerPool[id] = nil
        if taskTimerOf[owner] == id then
            taskTimerOf[owner] = nil
            sys.resume(owner)
        end
        return
    end
    if not timerLoop[id] then timerPool[id] = nil end
    local args = timerArgs[id]
    if not timerLoop[id] then timerArgs[id] = nil end
    if args then owner(unpack(args, 1, args.n)) else owner() end
    if timerLoop[id] then rtos.timer_start(id, timerLoop[id]) end
end

--- Takes messages forever (the firmware's main loop; end a script with os.exit).
function sys.run()
    while true do
        dispatch()
        local msg, param = rtos.receive(rtos.INF_TIMEOUT)
        if msg == rtos.MSG_TIMER then
            onTimer(param)
        elseif type(msg) == "number" then
            handlers[msg](param)
        elseif type(msg) == "table" then
            handlers[msg.id](msg)
        else
            error("rtos.receive failed: " .. tostring(param))
        end
    end
end

_G.sys = sys
return sys
