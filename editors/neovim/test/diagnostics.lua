-- Headless test of editors/neovim against `policyctl lsp`; run by run.sh:
--
--   POLICYCTL_REPO=<repo> POLICYCTL_BIN=<policyctl> POLICYCTL_TMP=<empty dir> \
--   POLICYCTL_LOG=<file> nvim --headless -u NONE -i NONE -n -c 'luafile diagnostics.lua'
--
-- Opens a copy of a broken policy, waits for the client's diagnostics and checks them (code,
-- 0-based line and column, severity) against `policyctl check --format json` on the same text
-- and against fixed expectations; edits the buffer (diagnostics must follow) and checks that a
-- YAML file that is not a policy gets none. Writes the results to POLICYCTL_LOG and exits with
-- 0 when all passed, 1 otherwise.

local repo = assert(os.getenv('POLICYCTL_REPO'), 'POLICYCTL_REPO')
local bin = assert(os.getenv('POLICYCTL_BIN'), 'POLICYCTL_BIN')
local tmp = assert(os.getenv('POLICYCTL_TMP'), 'POLICYCTL_TMP')
local log_path = assert(os.getenv('POLICYCTL_LOG'), 'POLICYCTL_LOG')
local timeout = tonumber(os.getenv('POLICYCTL_TIMEOUT_MS') or '') or 30000

local btf = repo .. '/testdata/btf/6.12.117+deb12-amd64.btf.zst'
local kernel_name = '6.12.117+deb12-amd64'
local fixture = repo .. '/testdata/policies/article/original-kill-mkdir-test.yaml'

local log = assert(io.open(log_path, 'w'))
local failures = 0
local function say(fmt, ...)
  log:write(string.format(fmt, ...) .. '\n')
  log:flush()
end
local function check(ok, what, detail)
  if ok then
    say('ok   %s', what)
  else
    failures = failures + 1
    say('FAIL %s%s', what, detail and ('\n     ' .. detail) or '')
  end
  return ok
end
local function finish()
  say('%s: %d failure(s) on Neovim %s', failures == 0 and 'PASS' or 'FAIL', failures,
    tostring(vim.version().major) .. '.' .. vim.version().minor .. '.' .. vim.version().patch)
  log:close()
  if failures == 0 then
    vim.cmd('qall!')
  else
    vim.cmd('cquit 1')
  end
end

local severities = { 'error', 'warning', 'info', 'hint' }

-- A diagnostic as `CODE@line:col/severity`, 0-based.
local function key(code, line, col, severity)
  return string.format('%s@%d:%d/%s', tostring(code), line, col, severity)
end
local function sorted_keys(list)
  table.sort(list)
  return table.concat(list, ' ')
end

-- The client's diagnostics of `buf`.
local function lsp_diagnostics(buf, client_id)
  local ns = vim.lsp.diagnostic.get_namespace(client_id)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf, { namespace = ns })) do
    local code = d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
    table.insert(out, key(code, d.lnum, d.col, severities[d.severity] or tostring(d.severity)))
  end
  return sorted_keys(out)
end

-- What `policyctl check` says of the buffer's text, in the same form (its lines are 1-based).
local function cli_diagnostics(buf)
  local path = tmp .. '/cli-input.yaml'
  local f = assert(io.open(path, 'w'))
  f:write(table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n') .. '\n')
  f:close()
  local out = vim.fn.system({ bin, 'check', '--btf', btf, '--format', 'json', path })
  local ok, report = pcall(vim.fn.json_decode, out)
  if not ok or type(report) ~= 'table' then
    check(false, 'policyctl check --format json', out)
    return nil
  end
  local list = {}
  for _, d in ipairs(report.diagnostics) do
    local sev = d.severity == 'note' and 'info' or d.severity
    table.insert(list, key(d.code, d.line - 1, d.column - 1, sev))
  end
  return sorted_keys(list)
end

local function attached_client(buf)
  local clients = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = buf })
    or vim.lsp.buf_get_clients(buf)
  for _, c in pairs(clients) do
    if c.name == 'policyctl' then
      return c
    end
  end
  return nil
end

-- Waits until the client's diagnostics of `buf` are `want` (the CLI's, which must contain
-- every `must` key), then checks they stay so.
local function expect(step, buf, client_id, must)
  local want = cli_diagnostics(buf)
  if not want then
    return
  end
  local want_set = {}
  for k in want:gmatch('%S+') do
    want_set[k] = true
  end
  for _, k in ipairs(must) do
    check(want_set[k], step .. ': policyctl check reports ' .. k, 'policyctl check: ' .. want)
  end
  if #must == 0 then
    check(want == '', step .. ': policyctl check reports nothing', 'policyctl check: ' .. want)
  end
  local got
  local arrived = vim.wait(timeout, function()
    got = lsp_diagnostics(buf, client_id)
    return got == want
  end, 20)
  if arrived then
    -- No later (stale) publication replaces them.
    vim.wait(300)
    got = lsp_diagnostics(buf, client_id)
    arrived = got == want
  end
  check(arrived, string.format('%s: diagnostics [%s]', step, want),
    string.format('got [%s], want [%s] (after %d ms)', got or '', want, timeout))
end

local function main()
  vim.opt.runtimepath:prepend(repo .. '/editors/neovim')
  vim.cmd('filetype on')

  require('policyctl').setup({
    cmd = { bin, 'lsp', '--stdio' },
    kernels = { { btf = btf, name = kernel_name } },
    host_kernel = false,
  })

  -- A copy, so the test may edit and write it.
  local policy = tmp .. '/kill-mkdir.yaml'
  vim.fn.writefile(vim.fn.readfile(fixture), policy)
  vim.cmd('edit ' .. vim.fn.fnameescape(policy))
  local buf = vim.api.nvim_get_current_buf()
  check(vim.bo[buf].filetype == 'yaml', 'policy buffer has filetype yaml', vim.bo[buf].filetype)

  local client
  vim.wait(timeout, function()
    client = attached_client(buf)
    return client ~= nil and client.initialized ~= false
  end, 20)
  if not check(client ~= nil, 'policyctl client attached to the policy') then
    return
  end
  check(client.config.root_dir == tmp, 'root dir is the buffer\'s directory',
    tostring(client.config.root_dir))
  check(type(client.config.init_options) == 'table'
    and client.config.init_options.hostKernel == false
    and client.config.init_options.kernels[1].btf == btf, 'init_options carry the kernels',
    vim.inspect(client.config.init_options))

  -- 1. As opened: `operator: "Equal"` on a filename arg, line 19 (1-based), column 19.
  expect('opened', buf, client.id, { 'P021@18:18/error' })

  -- 2. A line above: the diagnostic moves down (incremental didChange).
  vim.api.nvim_buf_set_lines(buf, 0, 0, false, { '# a comment' })
  expect('line inserted above', buf, client.id, { 'P021@19:18/error' })

  -- 3. A function the fixture kernel lacks: K001 on `call:` (now line 8, 0-based 7).
  local line = vim.api.nvim_buf_get_lines(buf, 7, 8, false)[1]
  check(line == '  - call: "do_mkdirat"', 'line 8 is the call', line)
  vim.api.nvim_buf_set_lines(buf, 7, 8, false, { '  - call: "do_mkdirat_nope"' })
  expect('unknown function', buf, client.id, { 'K001@7:10/error', 'P021@19:18/error' })

  -- 4. Fixed (back to the kernel's function, no selectors): the diagnostics are cleared.
  vim.api.nvim_buf_set_lines(buf, 7, 8, false, { '  - call: "do_mkdirat"' })
  vim.api.nvim_buf_set_lines(buf, 16, -1, false, {})
  expect('fixed', buf, client.id, {})

  -- The root directory is the nearest directory with `.git` above the buffer.
  vim.fn.mkdir(tmp .. '/proj/.git', 'p')
  vim.fn.mkdir(tmp .. '/proj/policies', 'p')
  local nested = vim.fn.bufadd(tmp .. '/proj/policies/p.yaml')
  check(require('policyctl').root_dir(nested) == tmp .. '/proj', 'root dir is the git root',
    require('policyctl').root_dir(nested))

  -- 5. A YAML file that is not a TracingPolicy, even one with kprobes: no diagnostics.
  local other = tmp .. '/deployment.yaml'
  vim.fn.writefile({
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  kprobes:',
    '  - call: "does_not_exist"',
    '    selectors:',
    '    - matchArgs: nope',
  }, other)
  vim.cmd('edit ' .. vim.fn.fnameescape(other))
  local obuf = vim.api.nvim_get_current_buf()
  local oclient
  vim.wait(timeout, function()
    oclient = attached_client(obuf)
    return oclient ~= nil
  end, 20)
  check(oclient ~= nil and oclient.id == client.id,
    'the same client is attached to the non-policy YAML file')
  if oclient then
    -- Edit it too, then give the server well over its debounce to (not) answer.
    vim.api.nvim_buf_set_lines(obuf, -1, -1, false, { '    - operator: Bogus' })
    vim.wait(2000)
    local got = lsp_diagnostics(obuf, oclient.id)
    check(got == '' and #vim.diagnostic.get(obuf) == 0, 'non-policy YAML: no diagnostics',
      'got [' .. got .. ']')
    -- The policy's diagnostics are still published (the server is alive).
    local alive = vim.lsp.buf_request_sync(buf, 'textDocument/documentSymbol',
      { textDocument = { uri = vim.uri_from_bufnr(buf) } }, timeout)
    check(alive ~= nil and alive[client.id] ~= nil and alive[client.id].result ~= nil,
      'server still answers requests on the policy', vim.inspect(alive))
  end
end

-- 6. policyctl not installed: the warning says it is not on PATH and how to install it.
local function missing()
  local said = {}
  local notify = vim.notify
  vim.notify = function(msg)
    table.insert(said, msg)
  end
  require('policyctl').setup({ cmd = { 'policyctl-not-installed-here', 'lsp' } })
  local policy = tmp .. '/missing.yaml'
  vim.fn.writefile(vim.fn.readfile(fixture), policy)
  vim.cmd('edit ' .. vim.fn.fnameescape(policy))
  vim.notify = notify
  local msg = table.concat(said, '\n')
  check(msg:find('`policyctl-not-installed-here` is not found on PATH', 1, true) ~= nil
    and msg:find('cargo install --locked', 1, true) ~= nil,
    'a missing policyctl: not found on PATH, and how to install it', msg)
  check(#said == 1, 'said once', tostring(#said))
end

local ok, err = pcall(main)
if ok then
  ok, err = pcall(missing)
end
check(ok, 'test script ran without a Lua error', tostring(err))
finish()
