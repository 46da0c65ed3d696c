-- 90 % GET /item/<random>, 10 % conditional PATCH of a random item
local token, max = nil, 1000

function init(args)
  token = args[1]
  max = tonumber(args[2])
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local id = math.random(1, max)
  if math.random() < 0.9 then
    return wrk.format("GET", "/item/" .. id)
  end
  return wrk.format("PATCH", "/item/" .. id, {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/merge-patch+json",
    ["If-Match"] = "*",
  }, '{"quantity":' .. math.random(0, 1000) .. '}')
end
