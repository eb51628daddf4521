// The project brings its own Node (the `node` dev dependency). A run under the machine's
// older Node would pass silently while testing the wrong runtime, so refuse it here.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
if (major < 22 || (major === 22 && minor < 19)) {
  throw new Error(
    `verikv needs Node >= 22.19 but this run uses ${process.version}; ` +
      "run through npm (npm test), which puts node_modules/.bin/node first on PATH",
  )
}
