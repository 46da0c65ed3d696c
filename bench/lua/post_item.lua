-- POST /item with a unique name per request; args: token, store id
local token, store, id, counter = nil, 1, 0, 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  store = args[2]
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + id)
end

function request()
  counter = counter + 1
  local body = '{"name":"bench ' .. id .. '-' .. counter .. '-' .. math.random(1, 1000000000) .. '","price":12.34,"store_id":' .. store .. '}'
  return wrk.format("POST", "/item", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
