"""Posts: questions, ideas, experiences and calls for collaborators; answers, comments, votes, vetting."""
