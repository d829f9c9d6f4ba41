-- Unleash Edge's frontend API for one feature, for a rotating set of users.
wrk.headers["Authorization"] = "*:development.bench-frontend-token"
local n = 0
request = function()
  n = (n + 1) % 10000
  return wrk.format("GET", "/api/frontend/features/new-rhythm-game?userId=student-" .. n)
end
