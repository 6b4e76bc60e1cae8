--- Host stand-in for the firmware's `log` module: lines to stderr, at or above the level in
-- the environment variable LUAT_LOG (debug, info, warn, error; default warn).
module(..., package.seeall)

local levels = { trace = 0, debug = 1, info = 2, warn = 3, error = 4, fatal = 5 }
local threshold = levels[os.getenv("LUAT_LOG") or "warn"] or levels.warn

local function emit(level, tag, ...)
    if levels[level] < threshold then return end
    local parts = { "[" .. level .. "]", tostring(tag) }
    for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
    io.stderr:write(table.concat(parts, " "), "\n")
end

for name in pairs(levels) do
    _M[name] = function(tag, ...) emit(name, tag, ...) end
end
