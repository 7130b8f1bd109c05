-- request-logger.lua: the logic of wasm-filters/filters/request-logger as an
-- Envoy Lua filter (LuaJIT), for bench scenario D. Not shipped.
--
-- The harness prepends `local CONFIG = {...}` (the wasm filter's JSON
-- configuration as a Lua table). One JSON log line per request with method,
-- path, status, duration, request and response body bytes and the configured
-- request headers; paths under excludePaths are not logged. Differences,
-- because Envoy's Lua has no API for them: no counters or histograms, and the
-- line is written when the response ends (Lua has no access-log hook), so the
-- filter must come before any filter that answers locally to see its replies.

local NAMESPACE = "bench.request_logger"
local HEADERS = {}
for i, name in ipairs(CONFIG.headers or {}) do HEADERS[i] = name:lower() end
local EXCLUDE = CONFIG.excludePaths or {}

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local path = headers:get(":path") or ""
  for _, prefix in ipairs(EXCLUDE) do
    if path:sub(1, #prefix) == prefix then return end
  end
  -- Captured now: a later filter may change them before the response.
  local values = {}
  for i, name in ipairs(HEADERS) do
    local v = headers:get(name)
    values[i] = v and json_string(v) or "null"
  end
  local state = { method = headers:get(":method") or "", path = path, start = handle:timestamp(), headers = table.concat(values, "\1") }
  local meta = handle:streamInfo():dynamicMetadata()
  meta:set(NAMESPACE, "request", state)
  local bytes = 0
  for chunk in handle:bodyChunks() do bytes = bytes + chunk:length() end
  if bytes > 0 then meta:set(NAMESPACE, "request_bytes", bytes) end
end

function envoy_on_response(handle)
  local meta = handle:streamInfo():dynamicMetadata():get(NAMESPACE)
  if not meta then return end
  local status = handle:headers():get(":status") or "0"
  local bytes = 0
  for chunk in handle:bodyChunks() do bytes = bytes + chunk:length() end
  local r = meta.request
  local line = '{"method":' .. json_string(r.method) .. ',"path":' .. json_string(r.path) .. ',"status":' .. status
    .. ',"duration_ms":' .. string.format("%d", handle:timestamp() - r.start)
    .. ',"request_bytes":' .. string.format("%d", meta.request_bytes or 0) .. ',"response_bytes":' .. bytes
  if #HEADERS > 0 then
    local parts, i = {}, 1
    for v in (r.headers .. "\1"):gmatch("([^\1]*)\1") do
      parts[i] = json_string(HEADERS[i]) .. ":" .. v
      i = i + 1
    end
    line = line .. ',"headers":{' .. table.concat(parts, ",") .. "}"
  end
  handle:logInfo(line .. "}")
end
