{
  "targets": [
    {
      "target_name": "berth_native",
      "sources": ["native/berth_native.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "berth_peercred",
      "sources": ["native/berth_peercred.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "berth_mount",
      "sources": ["native/berth_mount.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "berth_idmap",
      "sources": ["native/berth_idmap.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
