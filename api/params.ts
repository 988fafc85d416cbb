// Boolean query parameters, decoded as Kubernetes decodes them. Every
// options struct a request's query fills (ListOptions' watch,
// allowWatchBookmarks and sendInitialEvents, PatchOptions' force,
// DeleteOptions' orphanDependents, PodLogOptions' follow, previous,
// timestamps and insecureSkipTLSVerifyBackend, PodExecOptions' and
// PodAttachOptions' stdin, stdout, stderr and tty) goes through
// apimachinery's parameter codec, whose Convert_Slice_string_To_bool is not
// strconv.ParseBool: only "0" and "false" in any case are false, and
// anything else, the empty value of `?watch` included, is true (so
// `watch=True`, `watch=t` and `watch=1` all watch, and no spelling is a 400).
// Only `pretty`, read outside the codec, uses strconv.ParseBool, with
// anything it refuses meaning false.

/** apimachinery's Convert_Slice_string_To_bool for a parameter's first value; absent (undefined/null) is false. */
export function queryBool(value: string | null | undefined): boolean {
  if (value === undefined || value === null) return false;
  return value !== '0' && value.toLowerCase() !== 'false';
}

/** Go's strconv.ParseBool: undefined for anything but its twelve spellings. */
export function parseGoBool(value: string): boolean | undefined {
  switch (value) {
    case '1': case 't': case 'T': case 'TRUE': case 'true': case 'True': return true;
    case '0': case 'f': case 'F': case 'FALSE': case 'false': case 'False': return false;
    default: return undefined;
  }
}
