-- PATCH /item/<random id> with If-Match: * (the whole conditional path: lock, render, compare)
local token, max = nil, 1000

function init(args)
  token = args[1]
  max = tonumber(args[2])
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local body = '{"quantity":' .. math.random(0, 1000) .. '}'
  return wrk.format("PATCH", "/item/" .. math.random(1, max), {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/merge-patch+json",
    ["If-Match"] = "*",
  }, body)
end
