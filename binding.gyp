{
  "targets": [
    {
      "target_name": "fanout_writer",
      "sources": ["native/fanout_writer.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"],
      "conditions": [["OS=='win'", { "type": "none" }]]
    }
  ]
}
