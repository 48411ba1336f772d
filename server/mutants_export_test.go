package server

// MultipartSlack is what a part's request may hold beyond the part itself, for the tests of the
// body limit at its boundary.
const MultipartSlack = multipartSlack
