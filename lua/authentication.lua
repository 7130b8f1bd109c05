-- authentication.lua
--
-- Runs unchanged in Envoy's envoy.filters.http.lua (LuaJIT) and in iacdash
-- over ext_proc (Lua 5.3, fengari).
--
-- Request path: the x-api-key header must hold one of the configured keys.
-- The keys come from the route's metadata for the Lua filter (a map
-- "api_keys": key -> client name) when present, else from API_KEYS below.
-- A missing or unknown key gets a 401 through handle:respond(). A good key
-- is removed before the request goes upstream, the client's name is sent as
-- x-api-client, and it is kept in dynamic metadata for the response path.
-- Response path: the client's name is echoed as x-api-client.

local API_KEYS = {
  ["k-3f9a1c"] = "team-orders",
  ["k-77b02e"] = "team-billing",
}

local NAMESPACE = "envoy.filters.http.lua"

local function configured_keys(handle)
  local keys = handle:metadata():get("api_keys")
  if type(keys) == "table" then return keys end
  return API_KEYS
end

local function deny(handle, reason)
  handle:logInfo("authentication: denied (" .. reason .. ")")
  handle:respond({
    [":status"] = "401",
    ["www-authenticate"] = 'ApiKey realm="iacdash-example"',
    ["content-type"] = "application/json",
  }, '{"error":"unauthorized"}')
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local n = headers:getNumValues("x-api-key")
  if n == 0 then return deny(handle, "no x-api-key") end
  if n > 1 then return deny(handle, "several x-api-key values") end

  local client = configured_keys(handle)[headers:get("x-api-key")]
  if type(client) ~= "string" then return deny(handle, "unknown key") end

  headers:remove("x-api-key")
  headers:replace("x-api-client", client)
  handle:streamInfo():dynamicMetadata():set(NAMESPACE, "api_client", client)
end

function envoy_on_response(handle)
  local meta = handle:streamInfo():dynamicMetadata():get(NAMESPACE)
  if meta and meta.api_client then
    handle:headers():replace("x-api-client", meta.api_client)
  end
end
