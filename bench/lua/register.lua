-- POST /register with a unique username per request; args: "email" to give each an address
-- (its welcome email is then recorded as a job in the same transaction: the outbox's cost).
local with_email, id, counter = false, 0, 0
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  with_email = args[1] == "email"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + id)
end

function request()
  counter = counter + 1
  local name = "b" .. id .. "-" .. counter .. "-" .. math.random(1, 1000000000)
  local body = '{"username":"' .. name .. '","password":"bench-password"'
  if with_email then body = body .. ',"email":"' .. name .. '@example.com"' end
  return wrk.format("POST", "/register", {["Content-Type"] = "application/json"}, body .. "}")
end
