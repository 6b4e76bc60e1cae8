--- A small stand-in for the firmware's `sys` library: tasks are coroutines, timers and
-- published topics are served by one loop that also takes the socket messages with
-- rtos.receive and hands each to the handler registered for its id with rtos.on.
-- Everything runs on the caller's thread; the loop is bounded by a time limit.
require "socketcore" -- also defines the global `rtos`

local sys = {}
local timers, nextTimer = {}, 0     -- id -> {due = ms, fn = f, args = {...}}
local handlers = {}                 -- message id -> function(msg)
local subscribers = {}              -- topic -> {fn, ...}
local published = {}                -- queued {topic, ...}
local tasks = {}                    -- coroutines started by taskInit

local unpack = unpack or table.unpack

--- Resumes a coroutine and re-raises any error inside it, with its traceback.
function sys.resume(co, ...)
    if coroutine.status(co) ~= "suspended" then return end
    local ok, err = coroutine.resume(co, ...)
    if not ok then error(debug.traceback(co, tostring(err)), 0) end
end

function sys.timerStart(fn, ms, ...)
    nextTimer = nextTimer + 1
    timers[nextTimer] = { due = rtos.tick() + ms, fn = fn, args = { n = select("#", ...), ... } }
    return nextTimer
end

function sys.timerStop(id)
    if id then timers[id] = nil end
end

function sys.taskInit(fn, ...)
    local co = coroutine.create(fn)
    tasks[#tasks + 1] = co
    sys.resume(co, ...)
    return co
end

--- Suspends the running task for `ms` milliseconds.
function sys.wait(ms)
    local co = coroutine.running()
    local id = sys.timerStart(sys.resume, ms, co, nil)
    local r = { coroutine.yield() }
    sys.timerStop(id)
    return unpack(r)
end

--- Suspends the running task until `topic` is published (returns true, ...) or `ms` pass.
function sys.waitUntil(topic, ms)
    local co = coroutine.running()
    local function on(...) sys.resume(co, true, ...) end
    sys.subscribe(topic, on)
    local tid = ms and sys.timerStart(sys.resume, ms, co, false)
    local r = { coroutine.yield() }
    sys.unsubscribe(topic, on)
    sys.timerStop(tid)
    return unpack(r)
end

function sys.subscribe(topic, fn)
    subscribers[topic] = subscribers[topic] or {}
    subscribers[topic][fn] = true
end

function sys.unsubscribe(topic, fn)
    if subscribers[topic] then subscribers[topic][fn] = nil end
end

function sys.publish(topic, ...)
    published[#published + 1] = { n = select("#", ...) + 1, topic, ... }
end

--- rtos.on(MSG_SOCK_*, handler), as the firmware's sys library adds it.
function rtos.on(id, handler)
    handlers[id] = handler
end

local function fireTimers()
    local now, due = rtos.tick(), {}
    for id, t in pairs(timers) do
        if t.due <= now then due[#due + 1] = id end
    end
    table.sort(due)
    for _, id in ipairs(due) do
        local t = timers[id] -- a callback may have stopped it
        if t then
            timers[id] = nil
            t.fn(unpack(t.args, 1, t.args.n))
        end
    end
end

local function deliverPublished()
    while #published > 0 do
        local p = table.remove(published, 1)
        for fn in pairs(subscribers[p[1]] or {}) do fn(unpack(p, 2, p.n)) end
    end
end

local function alive()
    for _, co in ipairs(tasks) do
        if coroutine.status(co) ~= "dead" then return true end
    end
    return false
end

--- Runs the loop until every task has ended (true) or `limit_ms` passed (false).
function sys.run(limit_ms)
    local deadline = rtos.tick() + (limit_ms or 30000)
    while alive() do
        local now = rtos.tick()
        if now >= deadline then return false end
        local wait = math.min(100, deadline - now)
        for _, t in pairs(timers) do wait = math.min(wait, math.max(0, t.due - now)) end
        local msg, code, text = rtos.receive(math.floor(wait))
        if type(msg) == "table" then
            local h = handlers[msg.id]
            if h then h(msg) end
        elseif msg == nil then
            error("rtos.receive failed: " .. tostring(code) .. " " .. tostring(text))
        end
        fireTimers()
        deliverPublished()
    end
    return true
end

_G.sys = sys
return sys
