/*
 * Lua 5.1 bindings for libsocketcore: the modules `socketcore` and `rtos`, with the original
 * Luat firmware's Lua interface (argument order type, addr, port; integer results; messages
 * as tables from rtos.receive; rtos timers whose expiries rtos.receive returns as
 * rtos.MSG_TIMER, id). One shared object provides both: `require "socketcore"` also
 * registers `rtos` (globals `socketcore` and `rtos`, as on the firmware), and rtos.so is a
 * link to the same file for scripts that `require "rtos"` first.
 *
 * The firmware's answers to refused calls are kept (the library's SOCK_COMPAT_FIRMWARE):
 * every sock_close is answered by a CLOSE_CNF, every refused sock_send by a failed SEND_CNF,
 * and sends after a CLOSE_IND fail, so the firmware's socket library, which waits for those
 * messages, never hangs.
 *
 * No Lua code ever runs on a library thread: every result is taken on the caller's thread
 * by rtos.receive (sock_wait_msg).
 */
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <socketcore.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define LSC_EXPORT __attribute__((visibility("default")))
#define REGISTRY_GUARD "socketcore.shutdown_guard"

/* What rtos.receive returns when nothing came in time: the firmware's
 * rtos.WAIT_MSG_TIMEOUT (MSG_ID_RTOS_WAIT_MSG_TIMEOUT, the value before MSG_TIMER). */
#define LSC_WAIT_MSG_TIMEOUT 4
/* The firmware's platform results, as rtos.timer_start returns them. */
#define LSC_PLATFORM_OK 1
#define LSC_PLATFORM_ERR 0

/* An integer argument that fits a C int: a non-integral or out-of-range number is an error. */
static int check_int(lua_State *L, int idx)
{
    lua_Number n = luaL_checknumber(L, idx);
    if (n != n || n < (lua_Number)INT_MIN || n > (lua_Number)INT_MAX || n != (lua_Number)(int)n)
        luaL_argerror(L, idx, "integer in C int range expected");
    return (int)n;
}

static int opt_int(lua_State *L, int idx, int def)
{
    return lua_isnoneornil(L, idx) ? def : check_int(L, idx);
}

/* A 0/1 flag given as a number or a boolean; nil means def. */
static int opt_flag(lua_State *L, int idx, int def)
{
    if (lua_isnoneornil(L, idx)) return def;
    if (lua_isboolean(L, idx)) return lua_toboolean(L, idx);
    return check_int(L, idx) != 0;
}

/* The address as a C string; an embedded NUL would silently shorten it, so it is refused. */
static const char *check_addr(lua_State *L, int idx, int *ok)
{
    size_t len;
    const char *s = luaL_checklstring(L, idx, &len);
    *ok = strlen(s) == len;
    return s;
}

/* Reads cert.hostName/caCert/clientCert/clientKey (strings or nil). The strings stay anchored
 * by the table, which is an argument of the running call. */
static const char *cert_field(lua_State *L, int idx, const char *key)
{
    const char *s = NULL;
    lua_getfield(L, idx, key);
    if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        s = lua_tolstring(L, -1, &len);
        if (strlen(s) != len) luaL_error(L, "cert.%s contains a NUL byte", key);
    } else if (!lua_isnil(L, -1)) {
        luaL_error(L, "cert.%s: string expected, got %s", key, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    return s;
}

static const sock_cert *read_cert(lua_State *L, int idx, sock_cert *cert)
{
    if (!lua_istable(L, idx)) return NULL;
    cert->hostName = cert_field(L, idx, "hostName");
    cert->caCert = cert_field(L, idx, "caCert");
    cert->clientCert = cert_field(L, idx, "clientCert");
    cert->clientKey = cert_field(L, idx, "clientKey");
    return cert;
}

/* socketcore.sock_conn(type, addr, port[, cert]) -> id, or nil and the error code. */
static int l_sock_conn(lua_State *L)
{
    int type = check_int(L, 1), ok;
    const char *addr = check_addr(L, 2, &ok);
    int port = check_int(L, 3);
    sock_cert cert;
    const sock_cert *c = type == SOCK_TYPE_SSL ? read_cert(L, 4, &cert) : NULL;
    int id = ok ? sock_conn_ext(type, port, addr, c, NULL) : -SOCK_ERR_EARG;
    if (id < 0) {
        lua_pushnil(L);
        lua_pushinteger(L, -id);
        return 2;
    }
    lua_pushinteger(L, id);
    return 1;
}

/*
 * socketcore.sock_conn_ext(type, addr, port[, cert][, rcvBufferSize][, insist][, local_port]
 *                          [, hostNameFlag]) -> id, or -1 and the code saying why.
 *
 * The fourth argument is the cert table for TLS and the receive buffer size otherwise, as the
 * firmware's socket library calls it:
 *   TLS (type 2, or a table 4th):  type, addr, port, cert, rcvBufferSize, insist, local_port, hostNameFlag
 *   otherwise:                     type, addr, port, rcvBufferSize, insist, local_port, hostNameFlag
 * insist=1 keeps the connection when only the host name check fails (SOCK_TLS_VERIFY_NO_HOSTNAME);
 * 0 or nil verifies fully. hostNameFlag is accepted and ignored: cert.hostName (or addr) is
 * always sent as SNI. 0 or nil means "default" for the sizes and the port.
 */
static int l_sock_conn_ext(lua_State *L)
{
    int type = check_int(L, 1), ok;
    const char *addr = check_addr(L, 2, &ok);
    int port = check_int(L, 3);
    int tls_layout = type == SOCK_TYPE_SSL || lua_istable(L, 4);
    int base = tls_layout ? 5 : 4;
    sock_cert cert;
    const sock_cert *c = type == SOCK_TYPE_SSL ? read_cert(L, 4, &cert) : NULL;
    sock_conn_opts opts;

    if (tls_layout && !lua_isnoneornil(L, 4) && !lua_istable(L, 4))
        luaL_argerror(L, 4, "cert table or nil expected");
    sock_conn_opts_init(&opts);
    opts.rcv_buf_size = opt_int(L, base, 0);
    opts.local_port = opt_int(L, base + 2, 0);
    if (type == SOCK_TYPE_SSL && opt_flag(L, base + 1, 0)) opts.tls_verify = SOCK_TLS_VERIFY_NO_HOSTNAME;
    (void)opt_flag(L, base + 3, 0); /* hostNameFlag: checked for type, otherwise unused */

    int id = ok ? sock_conn_ext(type, port, addr, c, &opts) : -SOCK_ERR_EARG;
    if (id < 0) {
        /* The firmware returns -1 for every refusal but one: -2 means "the name did not
         * resolve at once" and sends its socket library to an HTTP DNS service on the
         * internet. Refusals here are all -1; the reason comes second. */
        lua_pushinteger(L, -1);
        lua_pushinteger(L, -id);
        return 2;
    }
    lua_pushinteger(L, id);
    return 1;
}

/* socketcore.sock_send(id, data) -> 1, 0 (accepted: one SEND_CNF follows) or 0, code. */
static int l_sock_send(lua_State *L)
{
    int id = check_int(L, 1);
    size_t len;
    const char *data = luaL_checklstring(L, 2, &len);
    int r = sock_send(id, data, len);
    lua_pushinteger(L, r);
    lua_pushinteger(L, r ? SOCK_ERR_OK : sock_error(id));
    return 2;
}

/* socketcore.sock_recv(id, len) -> the bytes read (possibly ""), or "" and the code. */
static int l_sock_recv(lua_State *L)
{
    int id = check_int(L, 1);
    int len = check_int(L, 2);
    if (len <= 0) {
        lua_pushliteral(L, "");
        lua_pushinteger(L, SOCK_ERR_EARG);
        return 2;
    }
    if (len > SOCK_MAX_BUF) len = SOCK_MAX_BUF; /* never more than that is buffered */
    char *buf = lua_newuserdata(L, (size_t)len);  /* freed by the GC, even if a push fails */
    int n = sock_recv(id, buf, (size_t)len);
    if (n < 0) {
        lua_pushliteral(L, "");
        lua_pushinteger(L, -n);
        return 2;
    }
    lua_pushlstring(L, buf, (size_t)n);
    return 1;
}

/* socketcore.sock_close(id) -> 1: one CLOSE_CNF follows, also for an id already destroyed or
 * closing (the firmware's platform_socket_close posts one whatever the slot's state). */
static int l_sock_close(lua_State *L)
{
    lua_pushinteger(L, sock_close(check_int(L, 1)));
    return 1;
}

/* socketcore.sock_destroy(id) -> 1, as on the firmware, whether or not the id existed. */
static int l_sock_destroy(lua_State *L)
{
    (void)sock_destroy(check_int(L, 1));
    lua_pushinteger(L, 1);
    return 1;
}

/* A text a C function writes into a buffer (sock_peer_addr, sock_tls_error_text, ...): the
 * string, or nil and the code. */
typedef int (*text_fn)(int id, char *buf, size_t len);
static int push_text(lua_State *L, text_fn fn)
{
    char buf[512];
    int r = fn(check_int(L, 1), buf, sizeof buf);
    if (r < 0) {
        lua_pushnil(L);
        lua_pushinteger(L, -r);
        return 2;
    }
    lua_pushlstring(L, buf, (size_t)r);
    return 1;
}

/* Host additions for diagnostics: each (id) -> text, or nil and the code. */
static int l_sock_peer_addr(lua_State *L) { return push_text(L, sock_peer_addr); }
static int l_sock_local_addr(lua_State *L) { return push_text(L, sock_local_addr); }
static int l_sock_tls_info(lua_State *L) { return push_text(L, sock_tls_info); }
static int l_sock_tls_error_text(lua_State *L) { return push_text(L, sock_tls_error_text); }

/* socketcore.sock_set_max_sockets(max) -> 0, or a negative code (host addition: the firmware
 * had a fixed number of sockets). */
static int l_sock_set_max_sockets(lua_State *L)
{
    lua_pushinteger(L, sock_set_max_sockets(check_int(L, 1)));
    return 1;
}

/* socketcore.sock_set_compat(flags) -> the previous flags, or a negative code (host addition:
 * 0 gives the C library's strict contract, where refused calls post nothing). */
static int l_sock_set_compat(lua_State *L)
{
    lua_pushinteger(L, sock_set_compat(check_int(L, 1)));
    return 1;
}

/* socketcore.sock_setopt(id, level, optname, optval) -> 0 or -1 (a non-number optval: -1). */
static int l_sock_setopt(lua_State *L)
{
    int id = check_int(L, 1), level = check_int(L, 2), name = check_int(L, 3);
    if (lua_type(L, 4) != LUA_TNUMBER) {
        lua_pushinteger(L, -1);
        return 1;
    }
    lua_pushinteger(L, sock_setopt(id, level, name, check_int(L, 4)));
    return 1;
}

static int l_sock_error(lua_State *L)
{
    lua_pushinteger(L, sock_error(check_int(L, 1)));
    return 1;
}

static int l_sock_strerror(lua_State *L)
{
    lua_pushstring(L, sock_strerror(check_int(L, 1)));
    return 1;
}

static int l_sock_version(lua_State *L)
{
    lua_pushstring(L, sock_version());
    return 1;
}

static int l_sock_shutdown(lua_State *L)
{
    (void)L;
    sock_shutdown();
    return 0;
}

/* rtos.receive([timeout_ms]) -> a socket message as a table; rtos.MSG_TIMER and the timer
 * id for a timer's expiry; rtos.WAIT_MSG_TIMEOUT when nothing came in time; nil, code, text
 * on an error. timeout_ms: rtos.INF_TIMEOUT (-1, the default) waits forever, 0 polls. */
static int l_rtos_receive(lua_State *L)
{
    lua_Number t = lua_isnoneornil(L, 1) ? -1 : luaL_checknumber(L, 1);
    int timeout;
    sock_msg m;
    if (t != t || t < -1) luaL_argerror(L, 1, "timeout in ms, or rtos.INF_TIMEOUT expected");
    timeout = t >= (lua_Number)INT_MAX ? -1 : (int)t; /* the firmware's 0x7fffffff: forever */

    int r = sock_wait_msg(&m, timeout);
    if (r == 0) {
        lua_pushinteger(L, LSC_WAIT_MSG_TIMEOUT);
        return 1;
    }
    if (r < 0) {
        lua_pushnil(L);
        lua_pushinteger(L, -r);
        lua_pushstring(L, sock_strerror(-r));
        return 3;
    }
    if (m.id == MSG_TIMER) {
        lua_pushinteger(L, MSG_TIMER);
        lua_pushinteger(L, m.socket_index);
        return 2;
    }
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, m.id);
    lua_setfield(L, -2, "id");
    lua_pushinteger(L, m.socket_index);
    lua_setfield(L, -2, "socket_index");
    lua_pushinteger(L, m.result);
    lua_setfield(L, -2, "result");
    lua_pushinteger(L, m.recv_len);
    lua_setfield(L, -2, "recv_len");
    lua_pushinteger(L, m.send_len);
    lua_setfield(L, -2, "send_len");
    return 1;
}

/* rtos.timer_start(id, ms) -> 1 (started; rtos.receive later returns rtos.MSG_TIMER, id) or 0.
 * Starting a running timer restarts it: only the new expiry comes. */
static int l_rtos_timer_start(lua_State *L)
{
    int id = check_int(L, 1), ms = check_int(L, 2);
    lua_pushinteger(L, sock_timer_start(id, ms) == 1 ? LSC_PLATFORM_OK : LSC_PLATFORM_ERR);
    return 1;
}

/* rtos.timer_stop(id) -> 1, as on the firmware. An expiry of the timer that rtos.receive has
 * not returned yet is withdrawn: none comes after this. */
static int l_rtos_timer_stop(lua_State *L)
{
    (void)sock_timer_stop(check_int(L, 1));
    lua_pushinteger(L, LSC_PLATFORM_OK);
    return 1;
}

/* rtos.poweron_reason() -> rtos.POWERON_KEY: a host "powers on" when the script starts. */
static int l_rtos_poweron_reason(lua_State *L)
{
    lua_pushinteger(L, 0);
    return 1;
}

/* rtos.poweron(flag): the host's network is always on; nothing to start. */
static int l_rtos_poweron(lua_State *L)
{
    (void)check_int(L, 1);
    return 0;
}

/* rtos.get_version() -> "socketcore-host_<library version>". */
static int l_rtos_get_version(lua_State *L)
{
    lua_pushfstring(L, "socketcore-host_%s", sock_version());
    return 1;
}

/* rtos.restart(): a host process is not rebooted from Lua; raise an error the script sees. */
static int l_rtos_restart(lua_State *L)
{
    return luaL_error(L, "rtos.restart: a host cannot restart (the script asked for a reboot)");
}

/* rtos.tick() -> milliseconds from a monotonic clock (for timers in Lua). */
static int l_rtos_tick(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000 + (lua_Number)(ts.tv_nsec / 1000000));
    return 1;
}

/* rtos.sleep(ms): blocks the caller (messages keep queuing). */
static int l_rtos_sleep(lua_State *L)
{
    int ms = check_int(L, 1);
    if (ms > 0) {
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0) {}
    }
    return 0;
}

/* Stops the poll thread when the Lua state closes, before the module can be unloaded. */
static int guard_gc(lua_State *L)
{
    (void)L;
    sock_shutdown();
    return 0;
}

static void install_guard(lua_State *L)
{
    lua_getfield(L, LUA_REGISTRYINDEX, REGISTRY_GUARD);
    if (lua_isnil(L, -1)) {
        lua_newuserdata(L, 1);
        lua_newtable(L);
        lua_pushcfunction(L, guard_gc);
        lua_setfield(L, -2, "__gc");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, REGISTRY_GUARD);
    }
    lua_pop(L, 1);
}

static void set_int(lua_State *L, const char *name, int value)
{
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
}

static const luaL_Reg socketcore_funcs[] = {
    { "sock_conn", l_sock_conn },         { "sock_conn_ext", l_sock_conn_ext },
    { "sock_send", l_sock_send },         { "sock_recv", l_sock_recv },
    { "sock_close", l_sock_close },       { "sock_destroy", l_sock_destroy },
    { "sock_setopt", l_sock_setopt },     { "sock_error", l_sock_error },
    { "sock_strerror", l_sock_strerror }, { "sock_version", l_sock_version },
    { "sock_shutdown", l_sock_shutdown }, { "sock_set_compat", l_sock_set_compat },
    { "sock_set_max_sockets", l_sock_set_max_sockets },
    { "sock_peer_addr", l_sock_peer_addr },     { "sock_local_addr", l_sock_local_addr },
    { "sock_tls_info", l_sock_tls_info },       { "sock_tls_error_text", l_sock_tls_error_text },
    { NULL, NULL },
};

static const luaL_Reg rtos_funcs[] = {
    { "receive", l_rtos_receive },
    { "timer_start", l_rtos_timer_start },
    { "timer_stop", l_rtos_timer_stop },
    { "tick", l_rtos_tick },
    { "sleep", l_rtos_sleep },
    { "poweron_reason", l_rtos_poweron_reason },
    { "poweron", l_rtos_poweron },
    { "get_version", l_rtos_get_version },
    { "restart", l_rtos_restart },
    { NULL, NULL },
};

LSC_EXPORT int luaopen_rtos(lua_State *L)
{
    install_guard(L);
    (void)sock_set_compat(SOCK_COMPAT_FIRMWARE);
    luaL_register(L, "rtos", rtos_funcs);
    set_int(L, "MSG_SOCK_RECV_IND", MSG_SOCK_RECV_IND);
    set_int(L, "MSG_SOCK_SEND_CNF", MSG_SOCK_SEND_CNF);
    set_int(L, "MSG_SOCK_CLOSE_CNF", MSG_SOCK_CLOSE_CNF);
    set_int(L, "MSG_SOCK_CONN_CNF", MSG_SOCK_CONN_CNF);
    set_int(L, "MSG_SOCK_CLOSE_IND", MSG_SOCK_CLOSE_IND);
    set_int(L, "WAIT_MSG_TIMEOUT", LSC_WAIT_MSG_TIMEOUT);
    set_int(L, "MSG_TIMEOUT", LSC_WAIT_MSG_TIMEOUT); /* this module's earlier name */
    set_int(L, "MSG_TIMER", MSG_TIMER);
    set_int(L, "INF_TIMEOUT", -1);
    /* Power-on reasons, in the firmware's order. */
    set_int(L, "POWERON_KEY", 0);
    set_int(L, "POWERON_CHARGER", 1);
    set_int(L, "POWERON_ALARM", 2);
    set_int(L, "POWERON_RESTART", 3);
    set_int(L, "POWERON_OTHER", 4);
    set_int(L, "POWERON_UNKNOWN", 5);
    set_int(L, "POWERON_EXCEPTION", 6);
    set_int(L, "POWERON_HOST", 7);
    set_int(L, "POWERON_WATCHDOG", 8);
    return 1;
}

LSC_EXPORT int luaopen_socketcore(lua_State *L)
{
    install_guard(L);
    luaopen_rtos(L); /* the message loop belongs with the sockets, as on the firmware */
    lua_pop(L, 1);

    luaL_register(L, "socketcore", socketcore_funcs);
    lua_pushstring(L, sock_version());
    lua_setfield(L, -2, "VERSION");
    set_int(L, "SOCK_TYPE_TCP", SOCK_TYPE_TCP);
    set_int(L, "SOCK_TYPE_UDP", SOCK_TYPE_UDP);
    set_int(L, "SOCK_TYPE_SSL", SOCK_TYPE_SSL);
    set_int(L, "SOCK_TYPE_RAW", SOCK_TYPE_RAW);
    set_int(L, "SOCK_COMPAT_CLOSE_CNF", SOCK_COMPAT_CLOSE_CNF);
    set_int(L, "SOCK_COMPAT_SEND_CNF", SOCK_COMPAT_SEND_CNF);
    set_int(L, "SOCK_COMPAT_CLOSE_IND", SOCK_COMPAT_CLOSE_IND);
    set_int(L, "SOCK_COMPAT_FIRMWARE", SOCK_COMPAT_FIRMWARE);
    /* Option levels and names: the original (lwIP) numbers. */
    set_int(L, "SOL_SOCKET", SOCK_SOL_SOCKET);
    set_int(L, "IPPROTO_TCP", SOCK_IPPROTO_TCP);
    set_int(L, "SO_KEEPALIVE", SOCK_SO_KEEPALIVE);
    set_int(L, "SO_REUSEADDR", SOCK_SO_REUSEADDR);
    set_int(L, "TCP_KEEPIDLE", SOCK_TCP_KEEPIDLE);
    set_int(L, "TCP_KEEPINTVL", SOCK_TCP_KEEPINTVL);
    set_int(L, "TCP_KEEPCNT", SOCK_TCP_KEEPCNT);
    set_int(L, "TCP_USER_TIMEOUT", SOCK_TCP_USER_TIMEOUT);
    set_int(L, "TCP_NODELAY", SOCK_TCP_NODELAY);
    set_int(L, "SO_SNDBUF", SOCK_SO_SNDBUF);
    set_int(L, "SO_RCVBUF", SOCK_SO_RCVBUF);
    /* Error codes, with the firmware's names (its two misspellings kept, correct ones added). */
    set_int(L, "ERR_UNKOWN", -1);
    set_int(L, "ERR_UNKNOWN", -1);
    set_int(L, "ERR_OK", SOCK_ERR_OK);
    set_int(L, "ERR_ENOMEM", SOCK_ERR_ENOMEM);
    set_int(L, "ERR_ENOBUFS", SOCK_ERR_ENOBUFS);
    set_int(L, "ERR_ETIMEOUT", SOCK_ERR_ETIMEOUT);
    set_int(L, "ERR_ERTE", SOCK_ERR_ERTE);
    set_int(L, "ERR_EINPROGRESS", SOCK_ERR_EINPROGRESS);
    set_int(L, "ERR_EINVAL", SOCK_ERR_EINVAL);
    set_int(L, "ERR_EWOULDBLOCK", SOCK_ERR_EWOULDBLOCK);
    set_int(L, "ERR_EADDRINUSE", SOCK_ERR_EADDRINUSE);
    set_int(L, "ERR_EALREADY", SOCK_ERR_EALREADY);
    set_int(L, "ERR_EISCONN", SOCK_ERR_EISCONN);
    set_int(L, "ERR_ENOTCONN", SOCK_ERR_ENOTCONN);
    set_int(L, "ERR_EIF", SOCK_ERR_EIF);
    set_int(L, "ERR_EABORT", SOCK_ERR_EABORT);
    set_int(L, "ERR_ERST", SOCK_ERR_ERST);
    set_int(L, "ERR_ECLSD", SOCK_ERR_ECLSD);
    set_int(L, "ERR_EARG", SOCK_ERR_EARG);
    set_int(L, "ERR_EIO", SOCK_ERR_EIO);
    set_int(L, "ERR_SSL_EHANDESHAK", SOCK_ERR_SSL_EHANDSHAKE);
    set_int(L, "ERR_SSL_EHANDSHAKE", SOCK_ERR_SSL_EHANDSHAKE);
    set_int(L, "ERR_SSL_EINIT", SOCK_ERR_SSL_EINIT);
    set_int(L, "ERR_SSL_EINVALID", SOCK_ERR_SSL_EINVALID);
    set_int(L, "ERR_EDNS", SOCK_ERR_EDNS);
    set_int(L, "ERR_ECONNREFUSED", SOCK_ERR_ECONNREFUSED);
    set_int(L, "ERR_EBADID", SOCK_ERR_EBADID);
    set_int(L, "ERR_EPERM", SOCK_ERR_EPERM);
    set_int(L, "ERR_SSL_ECERT", SOCK_ERR_SSL_ECERT);
    set_int(L, "ERR_EPANIC", SOCK_ERR_EPANIC);
    return 1;
}
