using Strata.Cli;

return await StrataCommandLine.RunAsync(args);
