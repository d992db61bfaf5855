namespace Strata.Export;

/// <summary>One file an export writes.</summary>
/// <param name="Name">File name inside the output folder, e.g. haproxy.cfg.</param>
/// <param name="Content">Its text; the same topology always gives the same bytes.</param>
public sealed record ExportedFile(string Name, string Content);

/// <summary>What an export may be told beyond the topology.</summary>
/// <param name="OutputDirectory">
/// Absolute folder the files go to; nginx's pid file, error log, access logs and temporary folders are put under it,
/// so that nginx runs without root and without touching /etc/nginx.
/// </param>
/// <param name="Workers">nginx's worker_processes and HAProxy's nbthread; null: their default ("auto" / one per CPU).</param>
public sealed record ExportSettings(string OutputDirectory, int? Workers = null);
