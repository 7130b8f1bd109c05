-- custom-auth.lua: the logic of wasm-filters/filters/custom-auth as an Envoy
-- Lua filter (LuaJIT), for bench scenario D. Not shipped: it exists so the
-- wasm filter races the same work done the way a Lua user would.
--
-- The harness prepends `local CONFIG = {...}`: the configuration the wasm
-- filter gets as JSON, as a Lua table (same keys). Per request, as the wasm
-- filter: drop client-sent identity headers; pick the first rule by path
-- prefix and method; anonymous / deny rules; else authenticate by API key,
-- then by an HS256 bearer JWT (signature, exp, nbf, iss, aud, sub); check the
-- rule's scopes, subjects and claims; allow with identity headers, or answer
-- 401/403 with the same JSON body and www-authenticate header.
-- Differences, because Envoy's Lua has no API for them: no counters, and the
-- API key lookup is a table lookup, not a constant-time compare.

local bit = require("bit")
local band, bor, bxor, bnot, rshift, lshift, ror, tobit = bit.band, bit.bor, bit.bxor, bit.bnot, bit.rshift, bit.lshift, bit.ror, bit.tobit
local byte, char, sub, concat = string.byte, string.char, string.sub, table.concat

-- SHA-256 (FIPS 180-4) on 32-bit ints; LuaJIT's bit ops wrap modulo 2^32.
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local W = {}

local function sha256(msg)
  local len = #msg
  local bits = len * 8
  msg = msg .. "\128" .. string.rep("\0", (55 - len) % 64) .. "\0\0\0\0"
    .. char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255), band(rshift(bits, 8), 255), band(bits, 255))
  local h0, h1, h2, h3 = 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a
  local h4, h5, h6, h7 = 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
  for at = 1, #msg, 64 do
    for i = 0, 15 do
      local a, b, c, d = byte(msg, at + i * 4, at + i * 4 + 3)
      W[i] = bor(lshift(a, 24), lshift(b, 16), lshift(c, 8), d)
    end
    for i = 16, 63 do
      local x, y = W[i - 15], W[i - 2]
      W[i] = tobit(W[i - 16] + bxor(ror(x, 7), ror(x, 18), rshift(x, 3)) + W[i - 7] + bxor(ror(y, 17), ror(y, 19), rshift(y, 10)))
    end
    local a, b, c, d, e, f, g, h = h0, h1, h2, h3, h4, h5, h6, h7
    for i = 0, 63 do
      local t1 = tobit(h + bxor(ror(e, 6), ror(e, 11), ror(e, 25)) + bxor(band(e, f), band(bnot(e), g)) + K[i + 1] + W[i])
      local t2 = tobit(bxor(ror(a, 2), ror(a, 13), ror(a, 22)) + bxor(band(a, b), band(a, c), band(b, c)))
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
    end
    h0, h1, h2, h3 = tobit(h0 + a), tobit(h1 + b), tobit(h2 + c), tobit(h3 + d)
    h4, h5, h6, h7 = tobit(h4 + e), tobit(h5 + f), tobit(h6 + g), tobit(h7 + h)
  end
  local out = {}
  for i, v in ipairs({ h0, h1, h2, h3, h4, h5, h6, h7 }) do
    out[i] = char(band(rshift(v, 24), 255), band(rshift(v, 16), 255), band(rshift(v, 8), 255), band(v, 255))
  end
  return concat(out)
end

-- HMAC (RFC 2104) with the pads made once per worker.
local function pad(key, n)
  if #key > 64 then key = sha256(key) end
  local out = {}
  for i = 1, 64 do out[i] = char(bxor(byte(key, i) or 0, n)) end
  return concat(out)
end

-- base64url without padding (RFC 4648 section 5).
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local B64_VALUE = {}
for i = 1, 64 do B64_VALUE[byte(B64, i)] = i - 1 end
B64_VALUE[byte("+")] = 62
B64_VALUE[byte("/")] = 63

local function b64url_encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local x = { rshift(n, 18), band(rshift(n, 12), 63), band(rshift(n, 6), 63), band(n, 63) }
    local keep = c and 4 or b and 3 or 2
    for j = 1, keep do out[#out + 1] = sub(B64, x[j] + 1, x[j] + 1) end
  end
  return concat(out)
end

local function b64url_decode(s)
  s = s:gsub("=+$", "")
  if #s % 4 == 1 then return nil end
  local out, n, got = {}, 0, 0
  for i = 1, #s do
    local v = B64_VALUE[byte(s, i)]
    if not v then return nil end
    n = n * 64 + v
    got = got + 1
    if got == 4 then
      out[#out + 1] = char(rshift(n, 16), band(rshift(n, 8), 255), band(n, 255))
      n, got = 0, 0
    end
  end
  if got == 3 then out[#out + 1] = char(rshift(n, 10), band(rshift(n, 2), 255))
  elseif got == 2 then out[#out + 1] = char(rshift(n, 4)) end
  return concat(out)
end

-- A small JSON decoder (objects, arrays, strings with escapes, numbers, literals).
local json_null = {}
local decode_value
local function skip(s, i) return (s:find("[^ \t\r\n]", i)) or #s + 1 end
local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local k = s:find('["\\]', j)
    if not k then error("unterminated string") end
    out[#out + 1] = sub(s, j, k - 1)
    if sub(s, k, k) == '"' then return concat(out), k + 1 end
    local e = sub(s, k + 1, k + 1)
    if e == "u" then
      local cp = tonumber(sub(s, k + 2, k + 5), 16)
      if not cp then error("bad escape") end
      if cp < 0x80 then out[#out + 1] = char(cp)
      elseif cp < 0x800 then out[#out + 1] = char(0xC0 + rshift(cp, 6), 0x80 + band(cp, 63))
      else out[#out + 1] = char(0xE0 + rshift(cp, 12), 0x80 + band(rshift(cp, 6), 63), 0x80 + band(cp, 63)) end
      j = k + 6
    elseif escapes[e] then
      out[#out + 1] = escapes[e]
      j = k + 2
    else
      error("bad escape")
    end
  end
end
function decode_value(s, i, depth)
  if depth > 32 then error("too deep") end
  i = skip(s, i)
  local c = sub(s, i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if sub(s, i, i) == "}" then return obj, i + 1 end
    while true do
      if sub(s, i, i) ~= '"' then error("expected a key") end
      local key
      key, i = decode_string(s, i)
      i = skip(s, i)
      if sub(s, i, i) ~= ":" then error("expected ':'") end
      obj[key], i = decode_value(s, i + 1, depth + 1)
      i = skip(s, i)
      local d = sub(s, i, i)
      if d == "}" then return obj, i + 1 end
      if d ~= "," then error("expected ',' or '}'") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local arr = { is_array = true }
    i = skip(s, i + 1)
    if sub(s, i, i) == "]" then return arr, i + 1 end
    while true do
      arr[#arr + 1], i = decode_value(s, i, depth + 1)
      i = skip(s, i)
      local d = sub(s, i, i)
      if d == "]" then return arr, i + 1 end
      if d ~= "," then error("expected ',' or ']'") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif sub(s, i, i + 3) == "null" then return json_null, i + 4
  elseif sub(s, i, i + 3) == "true" then return true, i + 4
  elseif sub(s, i, i + 4) == "false" then return false, i + 5
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if not num or not tonumber(num) then error("unexpected character") end
  return tonumber(num), i + #num
end

local function decode_object(segment)
  local text = b64url_decode(segment)
  if not text then return nil end
  local ok, v = pcall(decode_value, text, 1, 0)
  if not ok or type(v) ~= "table" or v.is_array then return nil end
  return v
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
    return string.format("\\u%04x", byte(c))
  end) .. '"'
end

-- The configuration, read once per worker.
local keys_cfg = CONFIG.apiKeys or {}
local API_KEY_HEADER = (keys_cfg.header or "x-api-key"):lower()
local API_KEYS = {}
for _, k in ipairs(keys_cfg.keys or {}) do API_KEYS[k.key] = k end
local JWT = CONFIG.jwt
local JWT_HEADER = JWT and (JWT.header or "authorization"):lower()
local LEEWAY = JWT and (JWT.leewaySeconds or 0) or 0
local REQUIRE_EXP = not JWT or JWT.requireExpiration ~= false
local SUBJECT_CLAIM = JWT and JWT.subjectClaim or "sub"
local SCOPES_CLAIM = JWT and JWT.scopesClaim or "scope"
local IPAD = JWT and pad(JWT.secret, 0x36)
local OPAD = JWT and pad(JWT.secret, 0x5c)
local RULES = CONFIG.rules or {}
local DEFAULT_POLICY = CONFIG.defaultPolicy or "authenticated"
local ident = CONFIG.identityHeaders or {}
local SUBJECT_HEADER = (ident.subject or "x-auth-subject"):lower()
local METHOD_HEADER = (ident.method or "x-auth-method"):lower()
local SCOPES_HEADER = (ident.scopes or "x-auth-scopes"):lower()
local STRIP = CONFIG.stripCredentials == true

local function contains(list, value)
  for _, v in ipairs(list) do if v == value then return true end end
  return false
end

local function rule_for(path, method)
  for _, rule in ipairs(RULES) do
    if sub(path, 1, #(rule.prefix or "/")) == (rule.prefix or "/") and (not rule.methods or #rule.methods == 0 or contains(rule.methods, method)) then
      return rule
    end
  end
  return nil
end

local function scopes_of(v)
  local out = {}
  if type(v) == "string" then
    for s in v:gmatch("[^ ]+") do out[#out + 1] = s end
  elseif type(v) == "table" and v.is_array then
    for _, s in ipairs(v) do if type(s) == "string" then out[#out + 1] = s end end
  end
  return out
end

local function audience_matches(aud, wanted)
  if type(aud) == "string" then return aud == wanted end
  if type(aud) == "table" and aud.is_array then return contains(aud, wanted) end
  return false
end

-- Returns the identity, or nil and the reason for the 401.
local function verify_jwt(token, now)
  local h, c, sig = token:match("^([^.]+)%.([^.]+)%.([^.]+)$")
  if not h then return nil, "malformed token" end
  local header = decode_object(h)
  if not header then return nil, "malformed token header" end
  if header.alg ~= "HS256" then return nil, "unsupported token algorithm" end
  if header.crit ~= nil then return nil, "unsupported critical token header" end
  if b64url_encode(sha256(OPAD .. sha256(IPAD .. h .. "." .. c))) ~= sig then return nil, "bad token signature" end
  local claims = decode_object(c)
  if not claims then return nil, "malformed token claims" end
  local exp, nbf = claims.exp, claims.nbf
  if exp ~= nil then
    if type(exp) ~= "number" then return nil, "token exp is not a number" end
    if now >= exp + LEEWAY then return nil, "token expired" end
  elseif REQUIRE_EXP then
    return nil, "token has no exp"
  end
  if nbf ~= nil then
    if type(nbf) ~= "number" then return nil, "token nbf is not a number" end
    if now + LEEWAY < nbf then return nil, "token not yet valid" end
  end
  if (JWT.issuer or "") ~= "" and claims.iss ~= JWT.issuer then return nil, "token issuer mismatch" end
  if (JWT.audience or "") ~= "" and not audience_matches(claims.aud, JWT.audience) then return nil, "token audience mismatch" end
  local subject = claims[SUBJECT_CLAIM]
  if type(subject) ~= "string" or subject == "" then return nil, "token has no subject" end
  return { subject = subject, method = "jwt", scopes = scopes_of(claims[SCOPES_CLAIM]), claims = claims }
end

local function deny(handle, status, err, reason, path, token_presented)
  local headers = { [":status"] = tostring(status), ["content-type"] = "application/json" }
  if status == 401 then
    headers["www-authenticate"] = token_presented and 'Bearer realm="iacdash", error="invalid_token"' or 'Bearer realm="iacdash"'
  end
  handle:logInfo("custom-auth: deny status=" .. status .. " reason=" .. json_string(reason) .. " path=" .. path)
  handle:respond(headers, '{"error":' .. json_string(err) .. ',"reason":' .. json_string(reason) .. "}")
end

local function allow(handle, headers, who, path)
  if not who then
    handle:logInfo("custom-auth: allow anonymous path=" .. path)
    return
  end
  headers:replace(SUBJECT_HEADER, who.subject)
  headers:replace(METHOD_HEADER, who.method)
  if #who.scopes > 0 then headers:replace(SCOPES_HEADER, concat(who.scopes, " ")) end
  if STRIP then headers:remove(who.method == "api-key" and API_KEY_HEADER or JWT_HEADER) end
  handle:logInfo("custom-auth: allow subject=" .. who.subject .. " method=" .. who.method .. " path=" .. path)
end

function envoy_on_request(handle)
  local headers = handle:headers()
  headers:remove(SUBJECT_HEADER)
  headers:remove(METHOD_HEADER)
  headers:remove(SCOPES_HEADER)
  local method = headers:get(":method") or ""
  local path = headers:get(":path") or "/"
  path = path:match("^[^?]*")
  local rule = rule_for(path, method)

  if rule and rule.anonymous then return allow(handle, headers, nil, path) end
  if rule and rule.deny then return deny(handle, 403, "forbidden", "denied by rule " .. rule.prefix, path, false) end
  if not rule and DEFAULT_POLICY == "allow" then return allow(handle, headers, nil, path) end
  if not rule and DEFAULT_POLICY == "deny" then return deny(handle, 403, "forbidden", "no rule matches", path, false) end

  local who
  local key = next(API_KEYS) ~= nil and headers:get(API_KEY_HEADER) or nil
  if key then
    local k = API_KEYS[key]
    if not k then return deny(handle, 401, "unauthenticated", "invalid api key", path, false) end
    who = { subject = k.subject, method = "api-key", scopes = k.scopes or {} }
  else
    local auth = JWT and headers:get(JWT_HEADER)
    if not auth then return deny(handle, 401, "unauthenticated", "missing credentials", path, false) end
    if #auth < 7 or sub(auth, 1, 7):lower() ~= "bearer " then
      return deny(handle, 401, "unauthenticated", "authorization is not a bearer token", path, false)
    end
    local reason
    who, reason = verify_jwt(sub(auth, 8):match("^%s*(.-)%s*$"), handle:timestamp() / 1000)
    if not who then return deny(handle, 401, "unauthenticated", reason, path, true) end
  end

  if rule then
    for _, scope in ipairs(rule.scopes or {}) do
      if not contains(who.scopes, scope) then return deny(handle, 403, "forbidden", "missing scope " .. scope, path, false) end
    end
    if rule.subjects and #rule.subjects > 0 and not contains(rule.subjects, who.subject) then
      return deny(handle, 403, "forbidden", "subject not allowed", path, false)
    end
    for name, wanted in pairs(rule.claims or {}) do
      if not who.claims or who.claims[name] ~= wanted then
        return deny(handle, 403, "forbidden", "claim " .. name .. " does not match", path, false)
      end
    end
  end
  return allow(handle, headers, who, path)
end
