-- GET <prefix><random id in 1..max> [with an optional Authorization header]
local prefix, max, token = "/item/", 1000, nil

function init(args)
  prefix = args[1] or prefix
  max = tonumber(args[2] or max)
  token = args[3]
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local headers = {}
  if token then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", prefix .. math.random(1, max), headers)
end

-- wrk --latency prints no percentile past 99: bench/run.py reads this line.
function done(summary, latency, requests)
  io.write(string.format("p99.9 %d us\n", latency:percentile(99.9)))
end
