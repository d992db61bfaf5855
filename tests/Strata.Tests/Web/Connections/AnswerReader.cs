using System.Net.Sockets;
using System.Text;

namespace Strata.Tests.Web.Connections;

/// <summary>Reads answers one after another from a connection: the head, then a Content-Length or chunked body.</summary>
internal sealed class AnswerReader(Socket socket)
{
    private readonly byte[] _buffer = new byte[1 << 16];
    private readonly MemoryStream _pending = new();

    public async Task<(string Head, byte[] Body)> ReadAsync(bool isHead)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        int end;
        while ((end = IndexOf(_pending.ToArray(), "\r\n\r\n"u8)) < 0)
        {
            await FillAsync(timeout.Token);
        }

        var bytes = _pending.ToArray();
        var head = Encoding.ASCII.GetString(bytes, 0, end);
        Consume(end + 4);
        var status = int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture);
        var lengthLine = head.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length: ", StringComparison.OrdinalIgnoreCase));
        if (isHead || status is 304 or 204)
        {
            return (head, []);
        }

        if (lengthLine is null)
        {
            Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.OrdinalIgnoreCase);
            var body = new MemoryStream();
            while (true)
            {
                int line;
                while ((line = IndexOf(_pending.ToArray(), "\r\n"u8)) < 0)
                {
                    await FillAsync(timeout.Token);
                }

                var size = Convert.ToInt32(Encoding.ASCII.GetString(_pending.ToArray(), 0, line).Split(';')[0], 16);
                Consume(line + 2);
                while (_pending.Length < size + 2)
                {
                    await FillAsync(timeout.Token);
                }

                body.Write(_pending.ToArray(), 0, size);
                Consume(size + 2);
                if (size == 0)
                {
                    return (head, body.ToArray());
                }
            }
        }

        var length = int.Parse(lengthLine["Content-Length: ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        while (_pending.Length < length)
        {
            await FillAsync(timeout.Token);
        }

        var content = _pending.ToArray()[..length];
        Consume(length);
        return (head, content);
    }

    private async Task FillAsync(CancellationToken cancellationToken)
    {
        var read = await socket.ReceiveAsync(_buffer, SocketFlags.None, cancellationToken);
        if (read == 0)
        {
            throw new IOException("the connection closed before the answer was whole");
        }

        _pending.Write(_buffer, 0, read);
    }

    private void Consume(int count)
    {
        var rest = _pending.ToArray()[count..];
        _pending.SetLength(0);
        _pending.Write(rest);
    }

    private static int IndexOf(byte[] bytes, ReadOnlySpan<byte> value) => bytes.AsSpan().IndexOf(value);
}
