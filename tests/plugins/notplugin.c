/* notplugin.so: a valid shared library without mlbench_plugin_entry, which
 * discovery must skip (or report) rather than crash on. */
__attribute__((visibility("default"))) int notplugin_answer(void);

int notplugin_answer(void)
{
    return 42;
}
