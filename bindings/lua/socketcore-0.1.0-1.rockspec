-- luarocks: the Lua 5.1 modules `socketcore` and `rtos`, built with this directory's
-- CMakeLists.txt against an installed libsocketcore (scripts/install.sh PREFIX):
--
--   cd bindings/lua && luarocks make SOCKETCORE_DIR=PREFIX      (add --local or --tree DIR)
--
-- The module's RUNPATH names PREFIX/lib, so `require "socketcore"` finds libsocketcore there.
-- The version is Cargo.toml's (scripts/test-relocation.sh checks it).
rockspec_format = "3.0"
package = "socketcore"
version = "0.1.0-1"
source = {
   url = "git+file:///dev/null", -- no published source: build from a checkout with luarocks make
}
description = {
   summary = "The Luat socketcore asynchronous socket API (TCP, UDP, TLS) for Lua 5.1 on hosts",
   detailed = "Bindings to libsocketcore: sock_conn/sock_send/sock_recv/sock_close with the " ..
      "results as messages taken by rtos.receive, as on Luat firmware.",
   license = "see the repository",
}
dependencies = {
   "lua >= 5.1, < 5.2",
}
external_dependencies = {
   SOCKETCORE = { header = "socketcore.h", library = "socketcore" },
}
build = {
   type = "cmake",
   variables = {
      CMAKE_BUILD_TYPE = "Release",
      CMAKE_PREFIX_PATH = "$(SOCKETCORE_DIR)",
      CMAKE_INSTALL_PREFIX = "$(PREFIX)",
      SOCKETCORE_LUA_CMOD_DIR = "$(LIBDIR)",
      LUA_INCLUDE_DIR = "$(LUA_INCDIR)",
      SOCKETCORE_LUA_RTOS_SYMLINK = "OFF",
   },
}
