-- wrk script for `make bench`. Scenario from BENCH_MODE:
--   add       POST /api/stamps/add, 1 stamp to a random member
--   mix       POS mix: 60% add, 20% deduct, 10% redeem, 10% cancel
--   mix-idem  the mix with a unique Idempotency-Key header on every call
-- Deducts and redemptions go to the first BENCH_FUNDED members (funded by fund.py first);
-- a cancel voids an award this thread made in this run (learnt from the add responses), so
-- no call is expected to fail. done() prints one line: BENCH_JSON {...}.

local mode = os.getenv("BENCH_MODE") or "add"
local token = os.getenv("BENCH_TOKEN")
local store = os.getenv("BENCH_STORE")
local reward = os.getenv("BENCH_REWARD")
local members_file = os.getenv("BENCH_MEMBERS_FILE")
local run_id = os.getenv("BENCH_RUN_ID") or tostring(os.time())
local is_mix = mode ~= "add"

-- One op sequence per thread: exact proportions, spread out so cancels follow adds.
local MIX = {"add", "deduct", "add", "redeem", "add", "add", "deduct", "add", "cancel", "add"}
local MAX_AWARDS_KEPT = 1000

-- main state: number the threads, and sum their counters in done()
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- thread state
local emails, email_of, awards = {}, {}, {}
local funded, seq, headers = 0, 0, nil
n_add, n_deduct, n_redeem, n_cancel, n_failed = 0, 0, 0, 0, 0

function init(args)
  math.randomseed(os.time() + 7919 * tid)
  for line in io.lines(members_file) do
    local id, email = line:match("^(%d+) (%S+)$")
    emails[#emails + 1] = email
    if is_mix then email_of[id] = email end
  end
  funded = math.min(tonumber(os.getenv("BENCH_FUNDED") or "2000"), #emails)
  headers = {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. token}
end

local function post(path, body)
  if mode == "mix-idem" then
    headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", run_id, tid, seq)
  end
  return wrk.format("POST", path, headers, body)
end

local function add()
  n_add = n_add + 1
  local email = emails[math.random(#emails)]
  return post("/api/stamps/add", string.format(
    '{"user":"%s","store":%s,"number_of_stamps":1,"require_email_notification":false}',
    email, store))
end

local ops = {
  add = add,
  deduct = function()
    n_deduct = n_deduct + 1
    return post("/api/memberships/deduct-stamps", string.format(
      '{"user":"%s","stamps":1,"notes":"bench"}', emails[math.random(funded)]))
  end,
  redeem = function()
    n_redeem = n_redeem + 1
    return post("/api/redemptions/add", string.format(
      '{"customer":"%s","store":%s,"reward":%s}', emails[math.random(funded)], store, reward))
  end,
  cancel = function()
    local award = table.remove(awards)
    if award == nil then return add() end -- no award of ours answered yet
    n_cancel = n_cancel + 1
    return post("/api/stamps/cancel", string.format('{"user":"%s","id":%s}', award[1], award[2]))
  end,
}

function request()
  seq = seq + 1
  if not is_mix then return add() end
  return ops[MIX[(seq - 1) % #MIX + 1]]()
end

-- Only defined for the mix: wrk skips reading bodies when there is no response().
if is_mix then
  function response(status, headers, body)
    if status ~= 200 then
      n_failed = n_failed + 1
      return
    end
    -- an add answers {"customer": {"id": ..}, "award": {"id": .., "number_of_stamps": ..}};
    -- a cancel answers the same with "status": "Canceled" in the award
    if #awards >= MAX_AWARDS_KEPT or not body:find('"award"', 1, true)
        or body:find("Canceled", 1, true) then
      return
    end
    local customer = body:match('"customer"%s*:%s*{[^}]*"id"%s*:%s*(%d+)')
    local award = body:match('"award"%s*:%s*{[^}]*"id"%s*:%s*(%d+)')
    if customer and award and email_of[customer] then
      awards[#awards + 1] = {email_of[customer], award}
    end
  end
end

function done(summary, latency, requests)
  local counts = {add = 0, deduct = 0, redeem = 0, cancel = 0, failed = 0}
  for _, thread in ipairs(threads) do
    for name in pairs(counts) do
      counts[name] = counts[name] + (thread:get("n_" .. name) or 0)
    end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'BENCH_JSON {"mode":"%s","requests":%d,"seconds":%.3f,"rps":%.2f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
    '"status_errors":%d,"socket_errors":%d,"non_200_seen":%d,' ..
    '"ops":{"add":%d,"deduct":%d,"redeem":%d,"cancel":%d}}\n',
    mode, summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout, counts.failed,
    counts.add, counts.deduct, counts.redeem, counts.cancel))
end
