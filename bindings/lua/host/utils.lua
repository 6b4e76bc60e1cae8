--- Host stand-in for the parts of the firmware's `utils` that its socket library uses:
-- io.readFile (certificates are read from files).
function io.readFile(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("*a")
    f:close()
    return s
end

function io.exists(path)
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
end
