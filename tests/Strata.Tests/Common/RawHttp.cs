using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Strata.Tests.Common;

/// <summary>HTTP/1.1 over a socket of its own, from a chosen loopback address: what limits keyed by client address see.</summary>
internal static class RawHttp
{
    /// <summary>A socket bound to <paramref name="source"/> and connected to <paramref name="target"/>.</summary>
    public static async Task<Socket> ConnectAsync(IPAddress source, EndPoint target)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(target);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A GET of <paramref name="path"/> with <paramref name="headers"/> (lines, CRLF after each) on a new connection from
    /// <paramref name="source"/>, closed after it; the whole answer as text, "[ERROR]" appended when the connection broke.
    /// </summary>
    public static async Task<string> GetAsync(IPAddress source, EndPoint target, string path, string headers = "")
    {
        using var socket = await ConnectAsync(source, target);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: www.foobar.com\r\n{headers}Connection: close\r\n\r\n"));
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            for (int read; (read = await socket.ReceiveAsync(buffer)) > 0;)
            {
                answer.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (SocketException e)
        {
            answer.Append($"[{e.SocketErrorCode}]");
        }

        return answer.ToString();
    }

    /// <summary>The status of <paramref name="answer"/> ("200"), or the answer itself when it is not one.</summary>
    public static string Status(string answer) => answer.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && answer.Length >= 12 ? answer[9..12] : answer;
}
