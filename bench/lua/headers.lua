-- A fixed request with extra headers; args: path, then header name/value pairs
local path, headers, method, body = "/", {}, "GET", nil

function init(args)
  path = args[1]
  local i = 2
  while args[i] do
    if args[i] == "--method" then
      method = args[i + 1]
    elseif args[i] == "--body" then
      body = args[i + 1]
    else
      headers[args[i]] = args[i + 1]
    end
    i = i + 2
  end
end

function request()
  return wrk.format(method, path, headers, body)
end

-- wrk --latency prints no percentile past 99: bench/run.py reads this line.
function done(summary, latency, requests)
  io.write(string.format("p99.9 %d us\n", latency:percentile(99.9)))
end
