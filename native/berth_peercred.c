/*
 * Who is on the other end of a unix socket (src/daemon/peer.ts, for the audit
 * log and the authorization policy): getsockopt(2) SO_PEERCRED (pid, uid,
 * gid when the peer connected) and SO_PEERGROUPS (its supplementary groups).
 * Node has no getsockopt, and the kernel is the only trustworthy source.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59
#endif

static napi_value set_uint(napi_env env, napi_value obj, const char *key, uint32_t v) {
  napi_value n;
  napi_create_uint32(env, v, &n);
  napi_set_named_property(env, obj, key, n);
  return obj;
}

/* peerCredentials(fd): { pid, uid, gid, groups? } or null when the socket has no peer credentials. */
static napi_value js_peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, nul;
  int32_t fd;
  napi_get_null(env, &nul);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) {
    napi_throw_type_error(env, NULL, "berth_peercred: peerCredentials(fd)");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return nul;
  napi_create_object(env, &result);
  napi_value pid;
  napi_create_int32(env, cred.pid, &pid);
  napi_set_named_property(env, result, "pid", pid);
  set_uint(env, result, "uid", cred.uid);
  set_uint(env, result, "gid", cred.gid);
  /* The kernel says how much room the group list needs when the first guess is short (ERANGE). */
  socklen_t glen = 64 * sizeof(gid_t);
  gid_t *groups = malloc(glen);
  int r = groups ? getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) : -1;
  if (r != 0 && groups && errno == ERANGE && glen > 0 && glen <= 65536 * sizeof(gid_t)) {
    gid_t *bigger = realloc(groups, glen);
    if (bigger) {
      groups = bigger;
      r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen);
    }
  }
  if (r == 0) {
    napi_value arr;
    uint32_t n = glen / sizeof(gid_t);
    napi_create_array_with_length(env, n, &arr);
    for (uint32_t i = 0; i < n; i++) {
      napi_value g;
      napi_create_uint32(env, groups[i], &g);
      napi_set_element(env, arr, i, g);
    }
    napi_set_named_property(env, result, "groups", arr);
  }
  free(groups);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, js_peer_credentials, NULL, &fn);
  napi_set_named_property(env, exports, "peerCredentials", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
