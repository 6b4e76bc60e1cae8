--- Host stand-in for the firmware's `link` module (the cellular data link): on a host the
-- network is up whenever the script runs. The original socket library asks link.isReady().
module(..., package.seeall)

function isReady() return true end
function openNetwork() end
function closeNetwork() end
