{
  "targets": [
    {
      "target_name": "loom_native",
      "sources": ["loom_native.c"],
      "cflags": ["-O3", "-std=c11", "-fno-math-errno", "-ffp-contract=off"],
      "cflags!": ["-O2"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-std=c11", "-ffp-contract=off"] },
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
