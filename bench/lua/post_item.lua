-- POST /item with a unique name per request; args: token, store id[, number of stores]
-- With a number of stores, each request goes to a random store in 1..n instead.
local token, store, stores, id, counter, tag = nil, 1, nil, 0, 0, ""
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  store = args[2]
  stores = tonumber(args[3])
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + id)
  -- A tag of this run's own: the seed above repeats for runs started within one second, and
  -- a store's item names are unique, so two such runs collided into 409s.
  local random = io.open("/dev/urandom", "rb")
  tag = random:read(6):gsub(".", function(c) return string.format("%02x", c:byte()) end)
  random:close()
end

function request()
  counter = counter + 1
  local target = store
  if stores then target = math.random(1, stores) end
  local body = '{"name":"bench ' .. tag .. '-' .. id .. '-' .. counter .. '","price":12.34,"store_id":' .. target .. '}'
  return wrk.format("POST", "/item", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }, body)
end
