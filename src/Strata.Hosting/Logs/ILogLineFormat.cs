using System.Buffers;

namespace Strata.Hosting.Logs;

/// <summary>Turns one entry of a <see cref="LogFileWriter{TEntry}"/> into a line. Runs on the writer's loop, never per request.</summary>
/// <typeparam name="TEntry">What a request leaves behind: references and numbers, nothing formatted.</typeparam>
public interface ILogLineFormat<TEntry>
{
    /// <summary>Appends the line for <paramref name="entry"/>, with its newline, as UTF-8.</summary>
    void Write(in TEntry entry, IBufferWriter<byte> output);
}
