-- request-transformation.lua
--
-- Runs unchanged in Envoy's envoy.filters.http.lua (LuaJIT) and in iacdash
-- over ext_proc (Lua 5.3, fengari). On the request path it:
--   * adds an x-request-id when the client sent none;
--   * normalises headers: trims values, lowercases content-type and accept,
--     drops client-supplied x-user-id (only the auth layer may set it);
--   * rewrites the path prefix /api/v1/ to /v1/ (the query is kept);
--   * adds a "request_id" field to JSON bodies of POST, PUT and PATCH.
-- Envoy's Lua has no JSON module, so the script carries a small one.

-- JSON (RFC 8259): decode to tables, encode with sorted object keys so the
-- bytes are the same under LuaJIT and Lua 5.3 (pairs order differs).
local json = {}
do
  local array_mt = {}
  json.array_mt = array_mt

  local escapes = {
    ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
    ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t',
  }
  local function encode_string(s)
    return '"' .. s:gsub('[%c"\\]', function(c)
      return escapes[c] or string.format('\\u%04x', c:byte())
    end) .. '"'
  end

  local function is_array(t)
    if getmetatable(t) == array_mt then return true end
    local n = #t
    if n == 0 then return false end
    local count = 0
    for _ in pairs(t) do count = count + 1 end
    return count == n
  end

  local encode_value
  local function encode_table(t, depth)
    if depth > 64 then error("json: nesting too deep") end
    local out = {}
    if is_array(t) then
      for i = 1, #t do out[i] = encode_value(t[i], depth + 1) end
      return '[' .. table.concat(out, ',') .. ']'
    end
    local keys = {}
    for k in pairs(t) do
      if type(k) ~= 'string' then error("json: object keys must be strings") end
      keys[#keys + 1] = k
    end
    table.sort(keys)
    for i, k in ipairs(keys) do out[i] = encode_string(k) .. ':' .. encode_value(t[k], depth + 1) end
    return '{' .. table.concat(out, ',') .. '}'
  end

  function encode_value(v, depth)
    local tv = type(v)
    if v == nil or v == json.null then return 'null' end
    if tv == 'boolean' then return v and 'true' or 'false' end
    if tv == 'number' then
      if v ~= v or v == math.huge or v == -math.huge then return 'null' end
      if v == math.floor(v) and v > -2^53 and v < 2^53 then return string.format('%.0f', v) end
      return tostring(v)
    end
    if tv == 'string' then return encode_string(v) end
    if tv == 'table' then return encode_table(v, depth) end
    error("json: cannot encode a " .. tv)
  end

  json.null = setmetatable({}, { __tostring = function() return 'null' end })

  function json.encode(v) return encode_value(v, 0) end

  local decode_value
  local function skip(s, i) return (s:find('[^ \t\r\n]', i)) or #s + 1 end
  local function fail(s, i, what) error(string.format("json: %s at byte %d", what, i)) end

  local function utf8_char(cp)
    if cp < 0x80 then return string.char(cp) end
    if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40) end
    if cp < 0x10000 then
      return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
    end
    return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
      0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end

  local unescapes = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }
  local function decode_string(s, i)
    local out, j = {}, i + 1
    while true do
      local k = s:find('["\\]', j)
      if not k then fail(s, i, "unterminated string") end
      out[#out + 1] = s:sub(j, k - 1)
      if s:sub(k, k) == '"' then return table.concat(out), k + 1 end
      local e = s:sub(k + 1, k + 1)
      if e == 'u' then
        local hex = s:sub(k + 2, k + 5)
        if not hex:find('^%x%x%x%x$') then fail(s, k, "bad \\u escape") end
        local cp, next_j = tonumber(hex, 16), k + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(next_j, next_j + 1) == '\\u' then
          local lo = tonumber(s:sub(next_j + 2, next_j + 5), 16)
          if lo and lo >= 0xDC00 and lo <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
            next_j = next_j + 6
          end
        end
        out[#out + 1] = utf8_char(cp)
        j = next_j
      elseif unescapes[e] then
        out[#out + 1] = unescapes[e]
        j = k + 2
      else
        fail(s, k, "bad escape")
      end
    end
  end

  local literals = { ['true'] = true, ['false'] = false }
  function decode_value(s, i, depth)
    if depth > 64 then fail(s, i, "nesting too deep") end
    i = skip(s, i)
    local c = s:sub(i, i)
    if c == '{' then
      local obj = {}
      i = skip(s, i + 1)
      if s:sub(i, i) == '}' then return obj, i + 1 end
      while true do
        if s:sub(i, i) ~= '"' then fail(s, i, "expected a key") end
        local key
        key, i = decode_string(s, i)
        i = skip(s, i)
        if s:sub(i, i) ~= ':' then fail(s, i, "expected ':'") end
        obj[key], i = decode_value(s, i + 1, depth + 1)
        i = skip(s, i)
        local d = s:sub(i, i)
        if d == '}' then return obj, i + 1 end
        if d ~= ',' then fail(s, i, "expected ',' or '}'") end
        i = skip(s, i + 1)
      end
    elseif c == '[' then
      local arr = setmetatable({}, array_mt)
      i = skip(s, i + 1)
      if s:sub(i, i) == ']' then return arr, i + 1 end
      while true do
        arr[#arr + 1], i = decode_value(s, i, depth + 1)
        i = skip(s, i)
        local d = s:sub(i, i)
        if d == ']' then return arr, i + 1 end
        if d ~= ',' then fail(s, i, "expected ',' or ']'") end
        i = i + 1
      end
    elseif c == '"' then
      return decode_string(s, i)
    elseif c == 'n' and s:sub(i, i + 3) == 'null' then
      return json.null, i + 4
    elseif c == 't' or c == 'f' then
      local word = s:match('^%a+', i)
      if literals[word] == nil then fail(s, i, "bad literal") end
      return literals[word], i + #word
    else
      local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', i)
      if not num or num == '' or not tonumber(num) then fail(s, i, "unexpected character") end
      return tonumber(num), i + #num
    end
  end

  function json.decode(s)
    local v, i = decode_value(s, 1, 0)
    if skip(s, i) <= #s then fail(s, i, "trailing data") end
    return v
  end
end

local OLD_PREFIX = "/api/v1/"
local NEW_PREFIX = "/v1/"

-- A version-4 style id; Envoy normally sets x-request-id before filters run.
local function new_request_id()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = 64 + b[7] % 16
  b[9] = 128 + b[9] % 64
  return string.format("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", unpack(b))
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

local LOWERCASE = { ["content-type"] = true, ["accept"] = true }

local function normalise_headers(headers)
  -- Headers cannot change while pairs() runs, so collect the names first.
  local names, seen = {}, {}
  for name in pairs(headers) do
    if not seen[name] then
      seen[name] = true
      names[#names + 1] = name
    end
  end
  for _, name in ipairs(names) do
    -- Each value of a multi-value header separately (getAtIndex is 0-based).
    local values, changed = {}, false
    for i = 0, headers:getNumValues(name) - 1 do
      local value = headers:getAtIndex(name, i)
      local v = trim(value)
      if LOWERCASE[name] then v = v:lower() end
      values[#values + 1] = v
      if v ~= value then changed = true end
    end
    if changed then
      headers:remove(name)
      for _, v in ipairs(values) do headers:add(name, v) end
    end
  end
  headers:remove("x-user-id")
end

local function rewrite_path(headers)
  local path = headers:get(":path")
  if path and path:sub(1, #OLD_PREFIX) == OLD_PREFIX then
    headers:replace(":path", NEW_PREFIX .. path:sub(#OLD_PREFIX + 1))
  end
end

local BODY_METHODS = { POST = true, PUT = true, PATCH = true }

function envoy_on_request(handle)
  local headers = handle:headers()
  local request_id = headers:get("x-request-id")
  if not request_id or request_id == "" then
    request_id = new_request_id()
    headers:add("x-request-id", request_id)
  end
  normalise_headers(headers)
  rewrite_path(headers)

  local method = headers:get(":method")
  local content_type = headers:get("content-type") or ""
  if not BODY_METHODS[method] or not content_type:find("^application/json") then return end

  local body = handle:body()
  if not body or body:length() == 0 then return end
  local ok, doc = pcall(json.decode, body:getBytes(0, body:length()))
  if not ok or type(doc) ~= "table" or getmetatable(doc) == json.array_mt then
    handle:logWarn("request-transformation: body is not a JSON object; left as is")
    return
  end
  doc.request_id = request_id
  body:setBytes(json.encode(doc))
end
