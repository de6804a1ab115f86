-- wrk script for bench/http.sh: each request carries the next of the tokens in $TOKENS_FILE.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if #line > 0 then
    tokens[#tokens + 1] = line
  end
end
local next_token = 0

request = function()
  next_token = next_token % #tokens + 1
  return wrk.format("GET", nil, { ["authorization"] = "Bearer " .. tokens[next_token] })
end
