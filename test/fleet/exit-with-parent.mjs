// Preloaded (node --import) into every sample-app child of the fleet tests: when the test process
// goes away without stopping it (a crashed or killed Jest worker), the IPC channel closes and the
// child shuts down like on SIGTERM, so no instance outlives its test. The channel itself does not
// keep the child alive.
if (typeof process.send === 'function') {
  process.channel?.unref();
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
