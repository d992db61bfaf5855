using System.Text.Json;
using System.Text.Json.Serialization;
using Strata.Data.Messages;
using Strata.Data;

namespace Strata.App.Guestbook;

/// <summary>Source-generated JSON for the guestbook API: camelCase, as the web defaults.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(Message))]
[JsonSerializable(typeof(IReadOnlyList<Message>))]
[JsonSerializable(typeof(NewMessageRequest))]
internal sealed partial class GuestbookJsonContext : JsonSerializerContext;
