using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Strata.Tests.Dns;

/// <summary>Keeps every formatted line at <paramref name="minimum"/> or above from every logger of a host.</summary>
internal sealed class CollectingLoggerProvider(LogLevel minimum) : ILoggerProvider
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CollectingLogger(Messages, minimum);

    public void Dispose()
    {
    }

    private sealed class CollectingLogger(ConcurrentQueue<string> messages, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                messages.Enqueue(formatter(state, exception));
            }
        }
    }
}
