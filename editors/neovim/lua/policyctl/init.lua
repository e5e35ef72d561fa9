-- policyctl: the `policyctl lsp` language server for Tetragon TracingPolicies in Neovim.
--
--   require('policyctl').setup({
--     cmd = { 'policyctl', 'lsp', '--stdio' },
--     kernels = { { btf = '/fleet/6.12.btf.zst', name = 'prod', config = '/fleet/6.12.config.gz',
--                   errorInjection = '/fleet/6.12.ei' } },
--     host_kernel = true,
--   })
--
-- Starts (or reuses) one client per root directory for every `yaml` buffer. The server answers
-- only for TracingPolicy documents, so it lives beside yaml-language-server.
--
-- Works on Neovim 0.7 and later: `vim.lsp.start` (0.8+) when there is one, else
-- `vim.lsp.start_client` + `vim.lsp.buf_attach_client`.

local M = {}

local uv = vim.uv or vim.loop

local defaults = {
  -- The command that starts the server.
  cmd = { 'policyctl', 'lsp', '--stdio' },
  -- Kernels to check against: { btf, name, config, errorInjection (or error_injection), modules }.
  -- Relative paths are relative to the root directory (the server resolves them).
  kernels = {},
  -- Also check against the running kernel. nil: the server's default (only when no kernel is
  -- listed).
  host_kernel = nil,
  -- Overrides the server's debounce of validation after a change, in milliseconds.
  debounce_ms = nil,
  -- The filetypes the client is started for.
  filetypes = { 'yaml' },
  -- Files or directories that mark the root directory, searched upwards from the buffer's
  -- directory; the buffer's directory when none is found.
  root_markers = { '.git' },
  -- Passed to the client as they are.
  on_attach = nil,
  capabilities = nil,
  -- The client's name.
  name = 'policyctl',
}

M.config = vim.deepcopy(defaults)

local augroup = nil
local clients = {} -- root dir -> client id (Neovim 0.7 only; `vim.lsp.start` reuses by itself)
local warned_missing = false

local function expand(path)
  if type(path) ~= 'string' then
    return path
  end
  if path:sub(1, 1) == '~' then
    return vim.fn.expand(path)
  end
  return path
end

--- The server's settings (`initializationOptions`) from the setup options.
function M.settings(opts)
  opts = opts or M.config
  local kernels = {}
  for _, k in ipairs(opts.kernels or {}) do
    if type(k) == 'string' then
      k = { btf = k }
    end
    local modules = nil
    if k.modules then
      modules = {}
      for _, m in ipairs(k.modules) do
        table.insert(modules, expand(m))
      end
    end
    table.insert(kernels, {
      btf = expand(k.btf),
      name = k.name,
      config = expand(k.config),
      errorInjection = expand(k.errorInjection or k.error_injection),
      modules = modules,
    })
  end
  local settings = { kernels = kernels }
  if opts.host_kernel ~= nil then
    settings.hostKernel = opts.host_kernel
  end
  if opts.debounce_ms ~= nil then
    settings.debounceMs = opts.debounce_ms
  end
  return settings
end

local function is_dir(path)
  local stat = uv.fs_stat(path)
  return stat ~= nil and stat.type == 'directory'
end

local function exists(path)
  return uv.fs_stat(path) ~= nil
end

local function parent(dir)
  local p = vim.fn.fnamemodify(dir, ':h')
  if p == dir then
    return nil
  end
  return p
end

--- The root directory of a buffer: the nearest ancestor of its directory that holds one of the
--- root markers (`.git` by default), else its directory; the current directory for a buffer
--- without a file.
function M.root_dir(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr or 0)
  local dir
  if name == '' or name:match('^%a[%w+.-]*://') then
    dir = uv.cwd()
  else
    dir = vim.fn.fnamemodify(name, ':p:h')
  end
  if not is_dir(dir) then
    dir = uv.cwd()
  end
  local d = dir
  while d do
    for _, marker in ipairs(M.config.root_markers or {}) do
      if exists(d .. '/' .. marker) then
        return d
      end
    end
    d = parent(d)
  end
  return dir
end

local function client_config(root)
  local settings = M.settings(M.config)
  return {
    name = M.config.name,
    cmd = M.config.cmd,
    root_dir = root,
    init_options = settings,
    -- Answers `workspace/configuration` for the section `policyctl`.
    settings = { policyctl = settings },
    capabilities = M.config.capabilities,
    on_attach = M.config.on_attach,
  }
end

--- Starts (or reuses) the client for `bufnr` and attaches it; returns the client's id.
--- What to say when the server's command cannot be run: a bare name not found on PATH, or a
--- path that is not an executable file; and how to get policyctl.
function M.missing_message(cmd)
  local install = 'install it with `cargo install --locked --git https://github.com/policyctl/policyctl policyctl`'
    .. ' (or `cargo install --locked --path .` in a clone)'
  if not cmd:find('/', 1, true) then
    return 'policyctl: `' .. cmd .. '` is not found on PATH, so no language server; ' .. install
      .. ', or give its path: setup({ cmd = { "/path/to/policyctl", "lsp" } })'
  end
  return 'policyctl: ' .. cmd .. ' is not an executable file, so no language server; ' .. install
    .. ', or fix `cmd` in setup()'
end

function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if bufnr == 0 then
    bufnr = vim.api.nvim_get_current_buf()
  end
  if vim.bo[bufnr].buftype ~= '' then
    return nil
  end
  if vim.fn.executable(M.config.cmd[1]) ~= 1 then
    if not warned_missing then
      warned_missing = true
      vim.notify(M.missing_message(M.config.cmd[1]), vim.log.levels.WARN)
    end
    return nil
  end
  local root = M.root_dir(bufnr)
  local config = client_config(root)

  if vim.lsp.start then
    -- 0.8+: reuses a client of the same name and root directory. `opts.bufnr` is 0.9+, so
    -- run it in the buffer.
    local id
    vim.api.nvim_buf_call(bufnr, function()
      id = vim.lsp.start(config, { bufnr = bufnr })
    end)
    return id
  end

  -- 0.7
  local id = clients[root]
  local client = id and vim.lsp.get_client_by_id(id)
  if not client or client.is_stopped() then
    id = vim.lsp.start_client(config)
    if not id then
      return nil
    end
    clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

--- Configures policyctl and starts it for every buffer of the filetypes, open or to come.
function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
  -- Lists replace, not merge.
  for _, key in ipairs({ 'cmd', 'kernels', 'filetypes', 'root_markers' }) do
    if opts and opts[key] then
      M.config[key] = opts[key]
    end
  end
  if type(M.config.cmd) == 'string' then
    M.config.cmd = { M.config.cmd }
  end
  warned_missing = false

  augroup = vim.api.nvim_create_augroup('policyctl', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = augroup,
    pattern = M.config.filetypes,
    callback = function(args)
      M.attach(args.buf)
    end,
    desc = 'policyctl: start the language server',
  })
  -- Buffers already open.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr)
      and vim.tbl_contains(M.config.filetypes, vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

return M
